"""The embedded real case: public AlpacaEval outputs of API references, documented students and controls.

:func:`build_case` draws a seeded random subset of the prompts (never looking at any answer),
copies those lines of each model's file verbatim, and imports them through the toolkit's own
benchmark importer into one hash-chained evidence log per model. ``case.json`` records who is
who, each model's documented lineage with its primary source, the prompt draw, and the SHA-256
of every upstream file and of the subset file the importer read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from forensics.evidence import check_output_target, file_sha256, import_benchmark, verify, write_output_atomic
from forensics.notebook.cases import Case, load_case
from forensics.notebook.setup import rebuild_target, shipped_notebook
from forensics.report import EFFICIENCY_SIZES, InvestigationResult, investigate, render_digest, write_digest
from forensics.verdict import AnalysisSettings, Answer, fmt_p, vendor_of, verdict_line

CASE_NAME = "alpaca_eval_distillation"
ALPACA_CASE_DIR = Path(__file__).resolve().parents[1] / "cases" / CASE_NAME
REFERENCES = ("text_davinci_003", "gpt-3.5-turbo-0301", "gpt4_0314", "claude", "claude-2", "gemini-pro")
SUSPECTS = ("claude2-alpaca-13b", "alpaca-7b", "vicuna-13b-v1.3", "airoboros-33b")
# every human-data model of the corpus: the independent models are what calibrates the test
CONTROLS = (
    "guanaco-7b",
    "guanaco-13b",
    "guanaco-33b",
    "guanaco-65b",
    "llama-2-7b-chat-hf",
    "llama-2-13b-chat-hf",
    "llama-2-70b-chat-hf",
    "oasst-sft-pythia-12b",
)
QUESTION = (
    "Which of these public models were trained on a proprietary API model's answers, and on whose? "
    "Each suspect is tested against each of six candidate references, calibrated by models trained on human data."
)
TABLE_COLUMNS = ("suspect", "engine's answer", "documented teacher", "engine right?")
DRAW_SEED = 16  # the issue number; fixed before any answer was read
N_PROMPTS = 160  # as many as fit in about 7 MB of evidence for 18 models


def draw_prompts(prompt_ids: list[str], n: int, *, rng: np.random.Generator | None = None) -> list[str]:
    """``n`` prompt ids drawn without replacement, in their original order."""
    rng = rng if rng is not None else np.random.default_rng(DRAW_SEED)
    chosen = set(rng.choice(len(prompt_ids), size=min(n, len(prompt_ids)), replace=False).tolist())
    return [p for i, p in enumerate(prompt_ids) if i in chosen]


def _lines_for(path: Path, keep: set[str]) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and json.loads(line)["prompt_id"] in keep:
                out.append(line if line.endswith("\n") else line + "\n")
    return out


def _truth(role: str, entry: dict) -> str:
    if role == "suspect":
        return f"distilled from {entry.get('teacher')} (closest reference: {entry.get('closest_ref')})"
    if role == "control":
        return "independent (human or RLHF data)"
    return "reference (proprietary API model)"


def build_case(
    source_dir: Path | str, case_dir: Path | str = ALPACA_CASE_DIR, n_prompts: int = N_PROMPTS, seed: int = DRAW_SEED
) -> Path:
    """Import the seeded subset of ``source_dir`` (the benchmark's ``alpaca_eval`` folder) into ``case_dir``."""
    source_dir, case_dir = Path(source_dir).resolve(), Path(case_dir).resolve()
    lineage = json.loads((source_dir.parent / "lineage.json").read_text(encoding="utf-8"))[source_dir.name]
    prompt_lines = (source_dir / "_prompts.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    all_ids = [json.loads(line)["prompt_id"] for line in prompt_lines if line.strip()]
    keep = set(draw_prompts(all_ids, n_prompts, rng=np.random.default_rng(seed)))
    case_dir.mkdir(parents=True, exist_ok=True)
    subjects = []
    roles = [(m, "reference") for m in REFERENCES] + [(m, "suspect") for m in SUSPECTS]
    roles += [(m, "control") for m in CONTROLS]
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            for model, role in roles:
                folder = Path(model) / source_dir.name  # relative: the importer records no machine path
                folder.mkdir(parents=True)
                (folder / "_prompts.jsonl").write_text(
                    "".join(line for line in prompt_lines if line.strip() and json.loads(line)["prompt_id"] in keep),
                    encoding="utf-8",
                )
                upstream = source_dir / f"{model}.jsonl"
                (folder / upstream.name).write_text("".join(_lines_for(upstream, keep)), encoding="utf-8")
                log = case_dir / f"{model}.jsonl"
                log.unlink(missing_ok=True)
                n = import_benchmark(folder, log)
                origin = json.loads(upstream.open(encoding="utf-8").readline()).get("source")
                entry = lineage[model]
                subjects.append(
                    {
                        "label": model,
                        "role": role,
                        "log": log.name,
                        "responses": n,
                        "lineage": {k: entry.get(k) for k in ("role", "family", "teacher", "teacher_family", "note")},
                        "source": entry.get("source"),
                        "closest_ref": entry.get("closest_ref") or None,
                        "truth": _truth(role, entry),
                        "upstream": {
                            "origin": origin,
                            "benchmark_file": f"benchmarks/dev/{source_dir.name}/{upstream.name}",
                            "benchmark_sha256": file_sha256(upstream),
                            "subset_file": str(folder / upstream.name),
                            "subset_sha256": file_sha256(folder / upstream.name),
                        },
                    }
                )
        finally:
            os.chdir(here)
    case = {
        "name": "AlpacaEval: API teachers, their documented students, and human-data controls",
        "kind": "imported",
        "references": list(REFERENCES),
        "suspects": list(SUSPECTS),
        "controls": list(CONTROLS),
        "prompts": {"drawn": len(keep), "of": len(all_ids), "seed": seed, "method": "numpy default_rng(seed).choice"},
        "subjects": subjects,
        "rebuild_command": "python -m forensics.notebook.alpaca_case BENCHMARKS/dev/alpaca_eval",
    }
    (case_dir / "case.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_case_md(case_dir)
    return case_dir


def write_case_md(case_dir: Path | str = ALPACA_CASE_DIR) -> Path:
    """CASE.md from case.json: lineage with its primary source for every model, origin, terms, limits."""
    case_dir = Path(case_dir)
    case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    origin = case["subjects"][0]["upstream"]["origin"].split(":results/")[0]
    lines = [
        f"# {case['name']}",
        "",
        f"**Question.** {QUESTION}",
        "",
        f"**Prompts.** {case['prompts']['drawn']} of the {case['prompts']['of']} AlpacaEval instructions, drawn "
        f"with `numpy.random.default_rng({case['prompts']['seed']})` before any answer was read (as many as fit "
        "in about 7 MB of evidence). Every model answered the same prompts once.",
        "",
        "## Who is who, and the documented lineage",
        "",
        "| model | role here | documented lineage | primary source (`source` in lineage.json) |",
        "|---|---|---|---|",
    ]
    for s in case["subjects"]:
        lines.append(f"| `{s['label']}` | {s['role']} | {s['truth']} | {s['source']} |")
    lines += [
        "",
        "## Where the data comes from, and its terms",
        "",
        f"- Upstream: the public AlpacaEval results, `{origin}` (`results/<model>/model_outputs.json`),",
        "  as normalised in the project's benchmark split (`benchmarks/dev/alpaca_eval/<model>.jsonl`).",
        "- Import: each model's subset file went through the toolkit's own importer (`import_benchmark`) into",
        "  one hash-chained, sealed log per model. Every record keeps the upstream repository, commit and file",
        "  (`source.origin`), the subset file and line it came from; `case.json` gives the SHA-256 of each",
        "  benchmark file and of each subset file, and the import record repeats the subset file's SHA-256.",
        "- Terms: the answers were written by third-party models, and each model's own terms of use apply",
        "  to its text; the AlpacaEval repository's licence applies to the collection. The text is kept",
        "  here, unchanged, only as evidence for this worked example; do not reuse it for training.",
        "",
        "## What the case can and cannot show",
        "",
        "- It can show the toolkit ranking candidate teachers and calibrating against models trained on",
        "  human data, on real students whose teachers are documented by their authors.",
        "- The panel's eight human-data models come from three lineages (four Guanaco sizes, three",
        "  Llama-2-chat sizes, one OASST Pythia), so they vary less than eight unrelated models would:",
        "  a real student can be missed, one unlike the others can look closer to a vendor than it is,",
        "  and 'no evidence' is not proof of independence.",
        "- References stand in for teachers: vicuna was trained on ChatGPT conversations of several",
        "  snapshots, alpaca on text-davinci-003 answers generated in 2023, which today's API may not reproduce.",
        "- One answer per prompt, recorded by others with decoding settings that are not known here.",
        "- It says nothing about weights or training data; only about recorded behaviour.",
        "",
        "## Who sealed the evidence",
        "",
        "Every log was sealed by the key with this fingerprint; `make demo` verifies each log with",
        "`forensics verify --trust` it (read from the line below) and stops if any log fails:",
        "",
        *(f"sealed-by: {fp}" for fp in sealing_keys(case_dir, case)),
        "",
        f"Rebuild the evidence: `{case['rebuild_command']}`. Run the investigation: `make demo`.",
        "",
    ]
    return write_output_atomic(case_dir / "CASE.md", "\n".join(lines), suffixes=(".md",))


def sealing_keys(case_dir: Path, case: Mapping) -> list[str]:
    """The fingerprints of the keys whose seals the case's logs carry (the ones CASE.md publishes)."""
    keys = set()
    for subject in case["subjects"]:
        keys.update(verify(case_dir / subject["log"], keep_records=False).key_fingerprints)
    return sorted(keys)


def run_investigation(
    case_dir: Path | str | None = None,
    out_dir: Path | str = "out/demo",
    *,
    seed: int = 0,
    sizes: Sequence[int] = EFFICIENCY_SIZES,
    settings: AnalysisSettings | None = None,
) -> InvestigationResult:
    """The whole investigation of the real case: verify once, attribute every suspect among the six
    references (each candidate's calibrated verdict included), the verdict on fewer prompts, and
    ``verdicts.json``, ``digest.json`` and ``report.html`` in ``out_dir``."""
    case = load_case(case_dir or ALPACA_CASE_DIR)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = investigate(
        case.logs,
        suspects=case.suspects,
        candidates=case.references,
        panel=case.controls,
        families=case.families,
        efficiency_sizes=sizes,
        seed=seed,
        out="report.html",
        meta={"case_id": case.directory.name, "purpose": QUESTION, "title": case.name},
        settings=settings,
        trust=case.sealed_by or None,
    )
    write_output_atomic(out / "verdicts.json", verdicts_json(result), suffixes=(".json",))
    write_digest(result.digest, out / "digest.json")
    render_digest(result.digest, out / "report.html")
    return result


def verdicts_json(result: InvestigationResult) -> str:
    """``verdicts.json``: per suspect the one answer (the words every output uses), the attribution
    behind it, and the verdict against the top-ranked candidate."""
    attributions = {a.suspect: a for a in result.attributions}
    rows = []
    for v in result.verdicts:
        a = attributions.get(v.suspect)
        rows.append(
            {
                "suspect": v.suspect,
                "answer": a.answer if a is not None else str(v.label),
                "kind": str(a.kind) if a is not None else None,
                "attribution": a.to_dict() if a is not None else None,
                "verdict": v.to_dict(),
            }
        )
    return json.dumps(rows, indent=1, ensure_ascii=False) + "\n"


def demo_rows(digest: Mapping, case: Case) -> list[dict]:
    """One row per suspect from a report digest: the engine's one answer beside the documented
    teacher, and whether they agree. A named teacher is right when it is of the documented
    teacher's vendor line; a named vendor when it is the documented teacher's vendor; for a control,
    any answer that names no teacher and no vendor is right."""
    attributions = {a["suspect"]: a for a in digest["attributions"]}
    families = case.families
    rows = []
    for v in digest["verdicts"]:
        a = attributions.get(v["suspect"], {})
        kind, answer = a.get("kind"), a.get("answer", v["label"])
        lineage = case.subject(v["suspect"]).get("lineage") or {}
        truth = lineage.get("teacher_family")
        named = a.get("teacher") if kind == str(Answer.TEACHER) else None
        vendor = a.get("vendor") if kind in (str(Answer.TEACHER), str(Answer.VENDOR)) else None
        if truth is None:
            agrees = "yes" if vendor is None else "NO: named a teacher for an independent model"
        elif named is not None:
            agrees = "yes" if families.get(named) == truth else "NO: wrong teacher"
        elif vendor is not None:
            agrees = "yes (vendor)" if vendor == vendor_of(truth) else "NO: wrong vendor"
        elif families.get(a.get("top")) == truth:
            agrees = "not shown: right teacher ranked first, not significant"
        else:
            agrees = "NO: missed"
        closest = case.subject(v["suspect"]).get("closest_ref")
        rows.append(
            {
                "suspect": v["suspect"],
                "engine's answer": answer,
                "documented teacher": f"{lineage.get('teacher')} ({closest})" if truth else "none (human data)",
                "engine right?": agrees,
            }
        )
    return rows


def answer_lines(result: InvestigationResult) -> list[str]:
    """Per suspect: the one answer, then its three best-ranked candidates with the p-value of each
    candidate's own test (before any correction for the others)."""
    lines = []
    for a in result.attributions:
        ranked = ", ".join(f"{c.candidate} (p {fmt_p(c.p_value)})" for c in a.ranking[:3])
        lines += [f"{a.suspect}: {a.answer}", f"  ranked: {ranked}"]
    return lines


def efficiency_lines(result: InvestigationResult) -> list[str]:
    """The verdict against the top candidate on fewer prompts (how many the answer needs)."""
    return [
        f"{row['suspect']:20s} vs {row['reference']:18s} {row['prompts']:4d} prompts: "
        f"{row['label']} (p {fmt_p(row['p_value'])})"
        for row in result.efficiency
    ]


def summary_lines(result: InvestigationResult, case: Case) -> list[str]:
    """Every figure the quickstart prints, in print order: what must read the same on any machine."""
    return [
        *answer_lines(result),
        *(verdict_line(v) for v in result.verdicts),
        *efficiency_lines(result),
        *format_table(demo_rows(result.digest, case)).splitlines(),
    ]


def format_table(rows: Sequence[Mapping]) -> str:
    """The rows as a fixed-width table a terminal shows without wrapping tricks."""
    cells = [[str(r[k]) for k in TABLE_COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(TABLE_COLUMNS)]
    line = lambda items: "  ".join(x.ljust(w) for x, w in zip(items, widths)).rstrip()  # noqa: E731
    return "\n".join([line(TABLE_COLUMNS), line("-" * w for w in widths), *(line(row) for row in cells)])


def run_demo(out_dir: Path | str = "out/demo", *, case_dir: Path | str | None = None, seed: int = 0) -> Path:
    """Execute the quickstart notebook on the real case (it runs :func:`run_investigation`), keep
    the executed copy beside its ``verdicts.json``, ``digest.json`` and ``report.html``."""
    import papermill  # about 2.5 s to import (python -X importtime): the notebook kernel never needs it

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    notebook = shipped_notebook("01_quickstart.ipynb")
    executed = check_output_target(out / notebook.name, suffixes=(".ipynb",))
    papermill.execute_notebook(
        str(notebook),
        str(executed),
        progress_bar=False,
        cwd=str(Path.cwd()),  # not the notebook's folder, which an installed wheel keeps in site-packages
        parameters={"case_dir": str(Path(case_dir).resolve()) if case_dir else None, "out_dir": str(out), "seed": seed},
    )
    return executed


if __name__ == "__main__":
    import sys

    n_prompts = int(sys.argv[2]) if len(sys.argv) > 2 else N_PROMPTS
    print(build_case(sys.argv[1], rebuild_target(ALPACA_CASE_DIR), n_prompts=n_prompts))
