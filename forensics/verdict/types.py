"""Result types shared by the verdict, the report and the notebooks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class Label(StrEnum):
    """The three answers a verdict can give; a ``StrEnum`` so it prints and serialises as its words."""

    SAME_MODEL = "same model or direct derivative"
    DISTILLED = "distilled from R"
    NO_EVIDENCE = "no evidence of distillation from R"

    @property
    def derived(self) -> bool:
        """True for the two labels that say the suspect derives from the reference."""
        return self is not Label.NO_EVIDENCE


class ConfidenceInterval(NamedTuple):
    """A two-sided interval; a tuple, so ``low, high = ci`` and ``list(ci)`` keep working."""

    low: float
    high: float

    @classmethod
    def of(cls, pair: Any) -> ConfidenceInterval:
        """From any pair (tuple, list, None for an undefined interval)."""
        low, high = pair if pair is not None else (math.nan, math.nan)
        return cls(math.nan if low is None else float(low), math.nan if high is None else float(high))


@dataclass
class SameModelCheck:
    """Share of prompts on which S's answer is closer to R's than any two independent panel
    members' answers are to each other (and the same share for each panel member): the mark of
    a copy rather than a student. ``share`` is None when it could not run (fewer than two groups)."""

    threshold: float
    share: float | None = None
    panel_shares: dict[str, float] = field(default_factory=dict)
    panel_max: float | None = None
    exact_share: float | None = None
    n_prompts: int = 0

    @property
    def ran(self) -> bool:
        return self.share is not None

    @property
    def says_copy(self) -> bool:
        return self.share is not None and self.share > self.threshold

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "share": self.share,
            "panel_shares": dict(self.panel_shares),
            "panel_max": self.panel_max,
            "exact_share": self.exact_share,
            "n_prompts": self.n_prompts,
        }
