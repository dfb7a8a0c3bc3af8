"""Report building blocks: verify the evidence once, check labels, the rebuild command, and
:func:`render_report` for verdicts computed elsewhere (a notebook). The whole run from evidence
to report is :func:`forensics.report.pipeline.build_report`."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from forensics.corpus import Corpus, load_evidence
from forensics.evidence import EvidenceError, VerifiedLog, iter_logs, verify
from forensics.report.digest import ReportError, build_digest, render_digest
from forensics.verdict import AnalysisSettings


def verify_evidence(paths: Iterable[Path | str], trust: Iterable[str] | None = None) -> list[VerifiedLog]:
    """Expand folders, verify every log once (with ``trust``: sealed by a trusted key); refuse, naming
    the log, when any fails or is missing. The verified logs carry their records for the loader."""
    paths = list(paths)
    logs = list(iter_logs(paths))
    if not logs:
        raise ReportError(f"no evidence logs found in {' '.join(map(str, paths)) or '(nothing given)'}")
    results = []
    for log in logs:
        result = verify(log, trust)
        if not result.ok:
            raise EvidenceError(f"refusing to report on evidence that fails verification: {result.describe()}")
        results.append(result)
    return results


def case_folder(paths: Sequence[Path | str]) -> Path:
    """The folder that holds every evidence log: the rebuild command names paths relative to it."""
    resolved = [Path(p).resolve() for p in paths]
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in resolved]))


def rebuild_command(
    evidence_paths: Sequence[Path | str],
    reference: str | None,
    suspects: Sequence[str],
    panel: Sequence[str] | None,
    seed: int,
    out: Path | str,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
    *,
    case_dir: Path | str | None = None,
    allow_mixed: bool = False,
    trust: Sequence[str] | None = None,
) -> str:
    """The exact command line that rebuilds this report from the same evidence; with ``case_dir``,
    evidence paths are written relative to it (run the command from that folder)."""

    def rel(p: Path | str) -> str:
        if case_dir is None:
            return str(p)
        return os.path.relpath(Path(p).resolve(), Path(case_dir).resolve())

    def option(flag: str, value: str) -> list[str]:
        # a label that begins with '-' would be read as an option: it is joined to its flag
        return [f"{flag}={value}"] if str(value).startswith("-") else [flag, str(value)]

    parts = ["forensics", "report", *(f"./{p}" if p.startswith("-") else p for p in map(rel, evidence_paths))]
    if reference:
        parts += option("--reference", reference)
    for s in suspects:
        parts += option("--suspect", s)
    for p in panel or ():
        parts += option("--panel", p)
    for r in replicates or ():
        parts += option("--replicate", r)
    for c in candidates or ():
        parts += option("--candidate", c)
    for t in trust or ():
        parts += option("--trust", t)
    if allow_mixed:
        parts += ["--allow-mixed"]
    parts += ["--seed", str(seed), *option("--out", str(out))]
    return " ".join(shlex.quote(p) for p in parts)


def check_labels(
    models: Sequence[str],
    reference: str | None,
    suspects: Sequence[str],
    panel: Sequence[str] | None,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
) -> None:
    """Every label named must be in the evidence; one line naming the bad label and the known ones."""
    known = set(models)
    listed = ", ".join(sorted(known)) or "(none)"
    for role, names in (
        ("reference", [reference] if reference else []),
        ("suspect", suspects),
        ("panel", panel or ()),
        ("candidate", candidates or ()),
        ("replicate", replicates or ()),
    ):
        for name in names:
            if name not in known:
                raise ReportError(f"unknown {role} label '{name}' (labels in the evidence: {listed})")
    if not suspects:
        raise ReportError("name at least one --suspect")
    if not reference and not candidates:
        raise ReportError("name a --reference, or the --candidate references to attribute the suspects among")
    if reference and reference in suspects:
        raise ReportError(f"'{reference}' is both the reference and a suspect")
    if panel and reference in panel:
        raise ReportError(f"the panel must not include the reference '{reference}'")
    for name in replicates or ():
        if name in suspects or name in (panel or ()):
            raise ReportError(f"'{name}' is a replicate of the reference and cannot also be a suspect or panel model")


def default_panel(
    models: Sequence[str], reference: str | None, suspect: str, replicates: Sequence[str] | None = None
) -> list[str]:
    """Every other label in the evidence: not the reference, its replicates, or the suspect being analysed."""
    return sorted(m for m in models if m not in (reference, suspect, *(replicates or ())))


def render_report(
    verdicts: Sequence[Any],
    evidence_paths: Sequence[Path | str],
    out: Path | str = "report.html",
    *,
    corpus: Corpus | None = None,
    attributions: Sequence[Any] = (),
    efficiency: Sequence[Mapping] = (),
    rng_seed: int | None = None,
    command: str | None = None,
    meta: Mapping | None = None,
    build_time: datetime | None = None,
    verified: Sequence[VerifiedLog] | None = None,
    settings: AnalysisSettings | None = None,
) -> Path:
    """Render verdicts computed elsewhere (a notebook) into ``out``: the evidence they came from is
    verified (unless ``verified`` is given) and quoted, nothing is recomputed. ``settings``: those the
    verdicts were computed with (default: the defaults); their learned parameters are quoted only when
    every verdict's null width agrees with them."""
    results = list(verified) if verified is not None else verify_evidence(evidence_paths)
    corpus = corpus if corpus is not None else load_evidence(results, check=False)
    if rng_seed is None:  # the seed the verdicts' generators were made from, when they share one
        seeds = {repr((v.test.rng_state or {}).get("seed_entropy")) for v in verdicts}
        rng_seed = (verdicts[0].test.rng_state or {}).get("seed_entropy") if len(seeds) == 1 else None
    exact = command is not None
    engine = (settings or AnalysisSettings()).engine
    if command is None:
        command, exact = _inferred_command(verdicts, evidence_paths, corpus.models, rng_seed, out)
    digest = build_digest(
        verdicts,
        results,
        corpus,
        attributions=attributions,
        efficiency=efficiency,
        meta={**_case_meta(evidence_paths, results), **(meta or {})},
        command=command,
        command_exact=exact,
        rng_seed=rng_seed,
        engine=engine.to_dict() if all(v.test.kappa == engine.kappa for v in verdicts) else None,
    )
    return render_digest(digest, out, build_time=build_time)


def _case_meta(evidence_paths: Sequence[Path | str], results: Sequence[VerifiedLog]) -> dict:
    case_dir = case_folder(evidence_paths)
    logs = [os.path.relpath(Path(r.path).resolve(), case_dir) for r in results]
    return {
        "case_dir": str(case_dir),
        "verify_command": " ".join(shlex.quote(x) for x in ["forensics", "verify", *logs]),
    }


def _inferred_command(
    verdicts: Sequence[Any], evidence_paths, models: Sequence[str], rng_seed, out
) -> tuple[str, bool]:
    """The ``forensics report`` command that recomputes verdicts computed elsewhere, and whether
    it reproduces them exactly (one reference, one panel shared by every suspect, one seed)."""
    reference = verdicts[0].reference
    suspects = [v.suspect for v in verdicts]
    union = sorted({m for v in verdicts for m in v.panel})
    replicates = sorted({m for v in verdicts if v.replicate is not None for m in v.replicate.replicates})
    exact = (
        len({v.reference for v in verdicts}) == 1
        and rng_seed is not None
        and all(sorted(v.panel) == [m for m in union if m != v.suspect] for v in verdicts)
        and all(sorted(v.replicate.replicates if v.replicate else []) == replicates for v in verdicts)
    )
    defaults = all(sorted(v.panel) == default_panel(models, reference, v.suspect, replicates) for v in verdicts)
    command = rebuild_command(
        evidence_paths,
        reference,
        suspects,
        None if defaults else union,
        rng_seed if rng_seed is not None else 0,
        out,
        replicates=replicates,
        case_dir=case_folder(evidence_paths),
    )
    return command, exact
