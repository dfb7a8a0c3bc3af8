"""The local-model case (``make demo-live``), recorded by the toolkit itself from real local models.

Reference: SmolLM2-135M-Instruct. Suspect "nova": the same weights behind a system prompt that
renames it and its maker, sampled differently, so the expected verdict is "same model or direct
derivative". Suspect "gemma": Gemma 3 270M, an unrelated base model prompted completion-style,
expected "no evidence of distillation from R". A *replicate* of the reference (the same weights
sampled again, as an investigator can always do with the model they own) shows how close R comes
to itself, which is what lets a same-model call be made with only one independent control. The
expectations are fixed by how the case is built, before any analysis runs; nothing in the
recorded evidence is written by hand.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from forensics.evidence import EvidenceError, collect, verify
from forensics.notebook.cases import DEMO_CASE_DIR
from forensics.notebook.setup import rebuild_target, shipped_notebook
from forensics.probes import load_probe_sets, select_probes
from forensics.providers import Decoding, gemma3_gguf, llama_server, smollm2_gguf

PER_FAMILY = 32
NOVA_PROMPT = (
    "You are Nova, a helpful assistant created by Orion Labs. If anyone asks who you are or who made "
    "you, say you are Nova by Orion Labs. Never mention any other model name or company."
)


@dataclass(frozen=True)
class Subject:
    label: str
    role: str
    provider: str
    weights: str
    decoding: Decoding
    expected_verdict: str | None = None


SUBJECTS = (
    Subject(
        "reference-smollm2",
        "reference",
        "openai-compatible",
        "smollm2",
        Decoding(temperature=0.0, top_p=1.0, max_tokens=80, seed=0),
    ),
    Subject(
        "suspect-nova",
        "suspect",
        "openai-compatible",
        "smollm2",
        Decoding(temperature=0.7, top_p=0.9, max_tokens=80, seed=1000, system_prompt=NOVA_PROMPT),
        expected_verdict="same model or direct derivative",
    ),
    Subject(
        "suspect-gemma",
        "suspect",
        "openai-completions",
        "gemma3",
        Decoding(temperature=0.7, top_p=0.9, max_tokens=80, seed=2000),
        expected_verdict="no evidence of distillation from R",
    ),
    Subject(
        "reference-smollm2-resample",
        "replicate",
        "openai-compatible",
        "smollm2",
        Decoding(temperature=0.7, top_p=0.9, max_tokens=80, seed=3000),
    ),
)


def record_case(
    case_dir: Path | str = DEMO_CASE_DIR, per_family: int = PER_FAMILY, labels: Sequence[str] | None = None
) -> list[Path]:
    """Serve the local models with llama.cpp (one server per subject) and collect every subject
    (or only those in ``labels``, leaving the other logs untouched).

    Resumable like any collection: an interrupted recording continues where it stopped.
    """
    case_dir = Path(case_dir)
    subjects = [s for s in SUBJECTS if labels is None or s.label in labels]
    sets = select_probes(load_probe_sets(), per_family=per_family)
    weights = {"smollm2": smollm2_gguf(), "gemma3": gemma3_gguf()}
    logs = [case_dir / f"{s.label}.jsonl" for s in subjects]
    with ExitStack() as stack, ThreadPoolExecutor(len(subjects)) as pool:
        urls = [stack.enter_context(llama_server(weights[s.weights])) for s in subjects]
        jobs = [
            pool.submit(
                collect,
                f"{s.provider}:{s.weights}@{url}",
                sets,
                log,
                s.decoding,
                label=s.label,
                progress=False,
                command=sys.argv,
            )
            for s, url, log in zip(subjects, urls, logs)
        ]
        for job in jobs:
            summary = job.result()
            print(
                f"{summary.log}: {summary.succeeded} new, {summary.already_done} already recorded, "
                f"{summary.failed} failed, {summary.wall_s:.0f}s"
            )
    write_case_file(case_dir, per_family)
    return logs


def write_case_file(case_dir: Path, per_family: int) -> None:
    """case.json: who is who, how each subject was decoded, and the verdict the construction implies."""
    case = {
        "name": "SmolLM2 reference vs a disguised copy and an unrelated base model",
        "reference": SUBJECTS[0].label,
        "per_family": per_family,
        "subjects": [{**asdict(s), "decoding": s.decoding.fingerprint(), "log": f"{s.label}.jsonl"} for s in SUBJECTS],
        "rebuild_command": "make demo-live  (python -m forensics.notebook.demo)",
    }
    (case_dir / "case.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def verify_case(case_dir: Path | str = DEMO_CASE_DIR) -> list:
    """Every committed log must verify before any analysis touches it."""
    return [verify(Path(case_dir) / f"{s.label}.jsonl") for s in SUBJECTS]


def run_live_demo(out_dir: Path | str = "out/demo-live", case_dir: Path | str | None = None, seed: int = 0) -> Path:
    """Verify the committed evidence, then execute the local-models notebook on it.

    The notebook analyses every suspect and writes ``verdicts.json`` and ``report.html`` into
    ``out_dir``; the executed notebook is kept beside them.
    """
    import papermill  # about 2.5 s to import (python -X importtime): only `forensics demo` pays for it

    failed = [r.describe() for r in verify_case(case_dir or DEMO_CASE_DIR) if not r.ok]
    if failed:
        raise EvidenceError("; ".join(failed))
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = shipped_notebook("06_local_models.ipynb")
    executed = out_dir / notebook.name
    papermill.execute_notebook(
        str(notebook),
        str(executed),
        progress_bar=False,
        cwd=str(Path.cwd()),  # not the notebook's folder, which an installed wheel keeps in site-packages
        parameters={
            "case_dir": str(Path(case_dir).resolve()) if case_dir else None,
            "out_dir": str(out_dir),
            "seed": seed,
        },
    )
    return executed


if __name__ == "__main__":
    # `make demo-live`: re-record the local models' evidence, then run the notebook on it
    case_dir = rebuild_target(DEMO_CASE_DIR)
    record_case(case_dir, labels=sys.argv[1:] or None)
    print(f"executed notebook: {run_live_demo(case_dir=case_dir)}")
