"""What every analysis of one investigation shares: its settings, and the engine's learned parameters.

The learned parameters (the signals' weights in the combined contrast and the width factor of the
null) are fitted on the real development corpora by ``benchmarks/fit_engine.py`` under
cross-validation, shipped as ``engine_params.json``, and never fitted on a case they score: the
benchmark refits them without the suspect it scores whenever its corpus was among those fitted on
(docs/methods.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

PARAMS_FILE = Path(__file__).resolve().parent / "engine_params.json"


@dataclass(frozen=True)
class EngineParams:
    """The learned parts of the engine, with what they were learned from.

    ``weights``: signal -> weight in the combined contrast (a signal not named weighs 0).
    ``kappa``: the factor by which the null's Student t is widened so that real negatives are
    rejected at no more than the nominal rate. ``fitted_on``: corpus name -> content digest of
    the data fitted on. ``cross_validation``: the held-out figures the fit reported.
    """

    weights: Mapping[str, float]
    kappa: float = 1.0
    fitted_on: Mapping[str, str] = field(default_factory=dict)
    cross_validation: Mapping[str, object] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self):
        if not self.kappa >= 1.0:
            raise ValueError(f"kappa must be at least 1 (a null is never narrowed), not {self.kappa!r}")
        bad = {k: v for k, v in self.weights.items() if not v >= 0}
        if bad or not any(v > 0 for v in self.weights.values()):
            raise ValueError(f"weights must be non-negative and not all zero: {dict(self.weights)}")

    @classmethod
    def from_dict(cls, data: Mapping) -> EngineParams:
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            kappa=float(data.get("kappa", 1.0)),
            fitted_on=dict(data.get("fitted_on", {})),
            cross_validation=dict(data.get("cross_validation", {})),
            note=str(data.get("note", "")),
        )

    def to_dict(self) -> dict:
        return {
            "weights": dict(self.weights),
            "kappa": self.kappa,
            "fitted_on": dict(self.fitted_on),
            "cross_validation": dict(self.cross_validation),
            "note": self.note,
        }

    @property
    def signals(self) -> list[str]:
        """The signals the combined contrast uses (weight above zero), heaviest first."""
        return [s for s, w in sorted(self.weights.items(), key=lambda kv: (-kv[1], kv[0])) if w > 0]


@cache
def shipped_params() -> EngineParams:
    """The parameters shipped with the package (``engine_params.json``)."""
    return EngineParams.from_dict(json.loads(PARAMS_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class AnalysisSettings:
    """The settings of every test in one investigation or benchmark run.

    ``signals``: the signals to measure and report (None: every default signal); the combined
    test uses those of them the parameters weigh. ``n_resamples``: prompt-bootstrap resamples
    (confidence intervals and the prompt-noise floor). ``params``: the learned parameters (None:
    the shipped ones).
    """

    signals: tuple[str, ...] | None = None
    alpha: float = 0.05
    n_resamples: int = 1999
    ci_level: float = 0.95
    params: EngineParams | None = None

    def __post_init__(self):
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), not {self.alpha!r}")
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be at least 1, not {self.n_resamples!r}")
        if self.signals is not None:
            object.__setattr__(self, "signals", tuple(self.signals))

    @property
    def engine(self) -> EngineParams:
        return self.params if self.params is not None else shipped_params()

    def with_(self, **changes) -> AnalysisSettings:
        """A copy with some settings changed."""
        return replace(self, **changes)
