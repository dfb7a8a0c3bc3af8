"""Who plays which part in a contrast test: the target, the anchors it is contrasted with, and the null units.

The panel an investigator gives holds two kinds of models. Those with a family label are
*references* (candidate teachers of other vendor lines): they anchor the contrast, since what a
student shares with its teacher is what the teacher does not share with other vendors' models.
The others are *independent* models: they are the null units, one draw each of how close a model
that learned from no candidate comes. docs/methods.md explains why the two are not mixed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forensics.signals.store import ClosenessStore


def vendor_of(family: str) -> str:
    """The vendor of a family label: its first dash-separated word ("openai-gpt4" -> "openai")."""
    return family.split("-", 1)[0]


@dataclass(frozen=True)
class Column:
    """One tested direction: closeness to ``targets`` (averaged) minus closeness to ``anchors``."""

    label: str
    targets: tuple[str, ...]
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class Design:
    """The suspect, its null units, and the columns of one contrast test (column 0 is tested)."""

    suspect: str
    units: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def models(self) -> list[str]:
        """Every model whose closeness the test reads, in a fixed order."""
        seen = dict.fromkeys(c for col in self.columns for c in (*col.targets, *col.anchors))
        return list(seen)


def anchors_for(target: str, references: Sequence[str], families: Mapping[str, str]) -> tuple[str, ...]:
    """References of other vendors than ``target``'s; of other families when every one shares its
    vendor; none when there is no other family (the contrast is then plain closeness)."""
    fam = families.get(target, target)
    others = [r for r in references if r != target and vendor_of(families.get(r, r)) != vendor_of(fam)]
    return tuple(others or [r for r in references if r != target and families.get(r, r) != fam])


def pair_design(
    reference: str, suspect: str, panel: Sequence[str], families: Mapping[str, str]
) -> tuple[Design, list[str]]:
    """The design of "was ``suspect`` distilled from ``reference``?" and the panel references it
    dropped (a reference of R's own family is neither an anchor nor a null unit)."""
    refs = [m for m in panel if m in families]
    dropped = [m for m in refs if families[m] == families.get(reference, reference)]
    refs = [m for m in refs if m not in dropped]
    visible = [reference, *refs]
    units = tuple(m for m in panel if m not in families and m != suspect)
    columns = [Column(c, (c,), anchors_for(c, visible, families)) for c in visible]
    return Design(suspect, units, tuple(columns)), dropped


def contrasts(
    store: ClosenessStore, design: Design, signals: Sequence[str], prompt_ids: Sequence[str]
) -> dict[str, np.ndarray]:
    """signal -> [1 + K, C, P] per-prompt contrasts of the suspect (row 0) and the units."""
    rows = [design.suspect, *design.units]
    models = design.models
    pos = {m: j for j, m in enumerate(models)}
    out = {}
    for signal in signals:
        M = store.matrix(signal, rows, models, prompt_ids)  # [rows, models, P]
        D = np.full((len(rows), len(design.columns), len(prompt_ids)), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # prompts where no target or anchor answered
            for j, col in enumerate(design.columns):
                target = np.nanmean(M[:, [pos[t] for t in col.targets]], axis=1)
                D[:, j] = target
                if col.anchors:
                    D[:, j] -= np.nanmean(M[:, [pos[a] for a in col.anchors]], axis=1)
        out[signal] = D
    return out
