"""Investigations: verified evidence loaded as a corpus, who is who, and the features every table shares."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forensics.corpus import Corpus, load_evidence
from forensics.evidence import EvidenceError, collect, iter_logs, verify
from forensics.evidence.labels import file_label
from forensics.features import Embedder, Features, quiet_embedder
from forensics.notebook.cases import DEMO_CASE_DIR, Case, load_case
from forensics.notebook.setup import resolve_path
from forensics.probes import load_probe_sets, select_probes
from forensics.providers import Decoding
from forensics.signals import ClosenessStore


def verify_table(paths: Iterable[str | os.PathLike], trust: Sequence[str] | None = None) -> pd.DataFrame:
    """Verify every evidence log (folders expand to their logs; with ``trust``, sealed by one of those
    key fingerprints) and return one row per log: file name, records, chain head, seal status and the
    signing key's fingerprint. Raises :class:`forensics.evidence.EvidenceError` naming the
    first log that fails, so nothing downstream runs on evidence that does not check out."""
    rows = []
    logs = list(iter_logs([Path(p) for p in paths]))
    if not logs:
        raise FileNotFoundError("no evidence logs found in " + ", ".join(map(str, paths)))
    for log in logs:
        result = verify(log, trust, keep_records=False)
        if not result.ok:
            raise EvidenceError(result.describe())
        rows.append(
            {
                "log": Path(result.path).name,
                "verified": "OK",
                "records": result.n_records,
                "head": result.head[:16],
                "seal": result.seal_status(),
                "key": ", ".join(k[:24] for k in result.key_fingerprints) or "none",
            }
        )
    return pd.DataFrame(rows).set_index("log")


@dataclass
class Investigation:
    """What a deep-dive notebook works on: verified evidence loaded as a corpus, who is who, the
    per-response features shared by every table (embeddings computed once, cached on disk), and the
    closeness store every verdict, attribution and signal table of the notebook reads."""

    corpus: Corpus
    reference: str
    suspect: str
    panel: list[str]
    logs: list[Path]
    features: Features
    case: Case | None = None
    replicates: list[str] = field(default_factory=list)
    store: ClosenessStore = field(init=False, repr=False)

    def __post_init__(self):
        self.store = ClosenessStore(self.corpus, self.features)

    @property
    def models(self) -> list[str]:
        """Reference, suspect, then the panel: the order tables and figures use."""
        return [self.reference, self.suspect, *self.panel]

    def describe(self) -> str:
        return (
            f"reference {self.reference}; suspect {self.suspect}; panel of {len(self.panel)}: "
            f"{', '.join(self.panel) or '(none)'}; "
            + (f"replicates of the reference: {', '.join(self.replicates)}; " if self.replicates else "")
            + f"{len(self.corpus.prompts)} prompts from "
            f"{len(self.logs)} verified log{'s' if len(self.logs) != 1 else ''}"
        )


def open_investigation(
    case_dir: str | os.PathLike | None = None,
    evidence: Sequence[str | os.PathLike] | None = None,
    reference: str | None = None,
    suspect: str | None = None,
    panel: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
    embedder: Embedder | None = None,
) -> Investigation:
    """Verify and load the evidence and settle who is who.

    ``evidence``: evidence logs or folders (None: the logs of the case in ``case_dir``, by default
    the embedded demo case). ``reference``/``suspect``: labels (None: the case's reference and its
    first suspect; required when ``evidence`` is given without ``case_dir``). ``panel``: control
    labels (None: :meth:`Case.panel_for` when a case is known, else every other label in the
    evidence but the replicates). ``replicates``: labels of the reference sampled again (None: the
    case's, when the case's reference is analysed; else none). Every log is verified first: a
    failing log raises :class:`forensics.evidence.EvidenceError` and nothing is analysed."""
    case = load_case(case_dir) if evidence is None or case_dir is not None else None
    logs = list(iter_logs([resolve_path(p) for p in evidence])) if evidence is not None else list(case.logs)
    corpus = load_evidence(logs, name=case.name if case and evidence is None else "evidence")  # verifies each once
    reference = reference or (case.reference if case else None)
    suspect = suspect or (case.suspects[0] if case and case.suspects else None)
    if reference is None or suspect is None:
        raise ValueError("name the reference and the suspect (no case.json to take them from)")
    in_case = case is not None and reference == case.reference and suspect in case.labels
    if replicates is None:
        replicates = case.replicates if in_case else []
    replicates = [m for m in replicates if m not in (reference, suspect)]
    if panel is None:
        panel = (
            case.panel_for(suspect)
            if in_case
            else [m for m in corpus.models if m not in (reference, suspect, *replicates)]
        )
    panel = [m for m in panel if m not in (reference, suspect, *replicates)]
    for role, names in (
        ("reference", [reference]),
        ("suspect", [suspect]),
        ("panel", panel),
        ("replicate", replicates),
    ):
        for name in names:
            if name not in corpus.responses:
                raise ValueError(f"unknown {role} label {name!r} (labels in the evidence: {', '.join(corpus.models)})")
    features = Features(corpus, embedder=embedder if embedder is not None else quiet_embedder())
    return Investigation(corpus, reference, suspect, list(panel), logs, features, case, list(replicates))


def collect_subjects(
    model_specs: Mapping[str, str],
    evidence_dir: str | os.PathLike,
    decoding: Decoding | None = None,
    *,
    probe_sets: Sequence[str | os.PathLike] | None = None,
    families: Iterable[str] | None = None,
    per_family: int | None = None,
    concurrency: int = 1,
    command: list[str] | None = None,
) -> pd.DataFrame:
    """Collect every subject of ``model_specs`` (label -> model string, e.g.
    ``"openai-compatible:smollm2@http://127.0.0.1:8765/v1"``) into ``evidence_dir/<label>.jsonl``
    with :func:`forensics.evidence.collect` (resumable: a rerun sends only what is missing).

    ``probe_sets``: probe-set files or folders (None: the curated sets), narrowed to
    ``families`` and to the first ``per_family`` probes of each family. The embedded demo case is
    read-only: collecting into it is refused. Returns one row per subject."""
    directory = resolve_path(evidence_dir)
    if directory.resolve() == DEMO_CASE_DIR.resolve():
        raise ValueError(
            "the embedded demo case is read-only evidence: set evidence_dir to a folder of your own before collecting"
        )
    if not model_specs:
        raise ValueError("model_specs is empty: name each subject's model string (label -> model)")
    sets = select_probes(
        load_probe_sets([resolve_path(p) for p in probe_sets] if probe_sets else None), families, per_family
    )
    if not sets:
        raise ValueError("no probes selected")
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, spec in model_specs.items():
        summary = collect(
            spec,
            sets,
            directory / f"{file_label(label)}.jsonl",
            decoding or Decoding(),
            label=label,
            concurrency=concurrency,
            progress=False,
            command=command,
        )
        rows.append(
            {
                "label": label,
                "log": Path(summary.log).name,
                "new": summary.succeeded,
                "already recorded": summary.already_done,
                "failed": summary.failed,
                "seconds": round(summary.wall_s, 1),
            }
        )
    return pd.DataFrame(rows).set_index("label")
