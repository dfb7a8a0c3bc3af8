"""Cases: a folder of evidence logs plus ``case.json``, which says who is who and what to expect."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forensics.notebook.setup import resolve_path
from forensics.verdict import DISTILLED, SAME_MODEL

DEMO_CASE_DIR = Path(__file__).resolve().parents[1] / "cases" / "smollm2_local"
DERIVED = (SAME_MODEL, DISTILLED)  # verdicts that say a subject is derived from the reference
# How CASE.md publishes the key that sealed a case's evidence: one line per key.
SEALED_BY = re.compile(r"^sealed-by: (ed25519:[0-9a-f]{64})[ \t]*$", re.M)


def published_keys(directory: str | os.PathLike) -> list[str]:
    """The sealing-key fingerprints a case folder's ``CASE.md`` publishes (``sealed-by: ed25519:<sha256>``
    lines); none when it has no CASE.md or publishes none."""
    path = Path(directory) / "CASE.md"
    if not path.is_file():
        return []
    return sorted(set(SEALED_BY.findall(path.read_text(encoding="utf-8"))))


@dataclass
class Case:
    """A case folder described by ``case.json`` (as written by :mod:`forensics.notebook.demo`)."""

    name: str
    directory: Path
    reference: str | None
    subjects: list[dict] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        """Candidate teachers (role ``reference``); the one ``reference`` of a single-reference case."""
        found = [s["label"] for s in self.subjects if s.get("role") == "reference"]
        return found or ([self.reference] if self.reference else [])

    @property
    def controls(self) -> list[str]:
        """Models documented as independent of every reference (role ``control``)."""
        return [s["label"] for s in self.subjects if s.get("role") == "control"]

    @property
    def families(self) -> dict[str, str]:
        """label -> vendor family, for subjects whose lineage names one (snapshots of one line)."""
        return {s["label"]: s["lineage"]["family"] for s in self.subjects if (s.get("lineage") or {}).get("family")}

    def truth(self, label: str) -> str:
        """The documented lineage of a subject, in words (empty when the case states none)."""
        return self.subject(label).get("truth") or self.expected(label) or ""

    @property
    def sealed_by(self) -> list[str]:
        """Fingerprints of the keys that sealed the case, as its CASE.md publishes them."""
        return published_keys(self.directory)

    @property
    def labels(self) -> list[str]:
        return [s["label"] for s in self.subjects]

    @property
    def suspects(self) -> list[str]:
        return [s["label"] for s in self.subjects if s.get("role") == "suspect"]

    @property
    def replicates(self) -> list[str]:
        """Subjects that are the reference sampled again (role ``replicate``)."""
        return [s["label"] for s in self.subjects if s.get("role") == "replicate"]

    @property
    def logs(self) -> list[Path]:
        return [self.directory / s.get("log", f"{s['label']}.jsonl") for s in self.subjects]

    def subject(self, label: str) -> dict:
        for s in self.subjects:
            if s["label"] == label:
                return s
        raise KeyError(f"no subject {label!r} in case {self.name!r} (subjects: {', '.join(self.labels)})")

    def expected(self, label: str) -> str | None:
        return self.subject(label).get("expected_verdict")

    def panel_for(self, suspect: str) -> list[str]:
        """The control panel for ``suspect``: every other subject except the reference, its
        replicates and the subjects the case says are derived from the reference (a copy of R in
        the panel would make "independent models" look like R and hide what the test looks for)."""
        return [
            s["label"]
            for s in self.subjects
            if s["label"] not in (self.reference, suspect, *self.replicates)
            and s.get("expected_verdict") not in DERIVED
        ]

    def decoding_table(self) -> pd.DataFrame:
        """Who is who, and how each subject was decoded."""
        rows = []
        for s in self.subjects:
            d = s.get("decoding") or {}
            rows.append(
                {
                    "label": s["label"],
                    "role": s.get("role"),
                    "weights": s.get("weights"),
                    "temperature": d.get("temperature"),
                    "top_p": d.get("top_p"),
                    "max_tokens": d.get("max_tokens"),
                    "seed": d.get("seed"),
                    "system prompt": "yes" if d.get("system_prompt") else "no",
                    "expected verdict": s.get("expected_verdict") or "",
                }
            )
        return pd.DataFrame(rows).set_index("label")


def load_case(case_dir: str | os.PathLike | None = None) -> Case:
    """Read ``case.json`` of ``case_dir`` (None: the embedded demo case)."""
    directory = DEMO_CASE_DIR if case_dir is None else resolve_path(case_dir)
    path = directory / "case.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no case.json, so {directory} is not a case folder")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Case(
        name=data.get("name", directory.name),
        directory=directory,
        reference=data.get("reference"),
        subjects=list(data.get("subjects") or ()),
    )


def expectation_table(verdicts: Sequence, case: Case) -> pd.DataFrame:
    """Each suspect's verdict beside the verdict the case's construction implies."""
    rows = []
    for v in verdicts:
        expected = case.expected(v.suspect)
        rows.append(
            {
                "suspect": v.suspect,
                "expected": expected or "(not stated)",
                "verdict": v.label,
                "strength": v.strength,
                "matches": "yes" if expected == v.label else ("n/a" if expected is None else "NO"),
            }
        )
    return pd.DataFrame(rows).set_index("suspect")
