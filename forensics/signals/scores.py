"""What every signal returns (:class:`SignalScores`) and the bookkeeping all signals share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.features.cache import nonempty


@dataclass
class SignalScores:
    """Per-prompt closeness of several models to one reference.

    ``values[i, j]``: closeness of ``models[i]`` to ``reference`` on ``prompt_ids[j]`` (NaN where
    undefined). ``records[model]`` and ``reference_records`` give the evidence-record hash behind
    each response (None when the corpus has none). ``standardise`` tells the statistics whether
    the values are continuous scores worth centring and scaling per prompt (True) or rates /
    indicators to be averaged as they are (False).
    """

    name: str
    reference: str
    models: list[str]
    prompt_ids: list[str]
    values: np.ndarray
    records: dict[str, list[str | None]] = field(default_factory=dict)
    reference_records: list[str | None] = field(default_factory=list)
    standardise: bool = True
    description: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=float)
        if self.values.shape != (len(self.models), len(self.prompt_ids)):
            raise ValueError(
                f"signal {self.name}: values shape {self.values.shape} does not match "
                f"{len(self.models)} models x {len(self.prompt_ids)} prompts"
            )

    def row(self, model: str) -> np.ndarray:
        return self.values[self.models.index(model)]

    @property
    def defined(self) -> bool:
        """True when every model has at least one defined prompt."""
        return bool(self.values.size) and bool(np.all(np.any(np.isfinite(self.values), axis=1)))

    def model_means(self) -> dict[str, float]:
        with np.errstate(all="ignore"):
            return {
                m: float(np.nanmean(r)) if np.any(np.isfinite(r)) else float("nan")
                for m, r in zip(self.models, self.values)
            }

    def subset(self, models: Sequence[str] | None = None, prompt_ids: Sequence[str] | None = None) -> SignalScores:
        mi = [self.models.index(m) for m in (models if models is not None else self.models)]
        pos = {p: j for j, p in enumerate(self.prompt_ids)}
        pj = [pos[p] for p in (prompt_ids if prompt_ids is not None else self.prompt_ids)]
        return SignalScores(
            self.name,
            self.reference,
            [self.models[i] for i in mi],
            [self.prompt_ids[j] for j in pj],
            self.values[np.ix_(mi, pj)],
            {
                self.models[i]: [self.records.get(self.models[i], [None] * len(self.prompt_ids))[j] for j in pj]
                for i in mi
            },
            [self.reference_records[j] for j in pj] if self.reference_records else [],
            self.standardise,
            self.description,
            dict(self.info),
        )


@dataclass(frozen=True)
class Measured:
    """What a signal's own logic returns when the values alone do not say it all: what to record
    with them (``info``), and for a signal whose kind depends on the corpus, whether they are to be
    standardised and the description that fits (None: the registered ones)."""

    values: np.ndarray
    info: dict = field(default_factory=dict)
    standardise: bool | None = None
    description: str | None = None


def prompts_for(corpus: Corpus, reference: str, prompt_ids: Sequence[str] | None) -> list[str]:
    """The prompts to score: those given, or every prompt the reference answered (non-empty)."""
    if prompt_ids is not None:
        return list(prompt_ids)
    return [p for p in sorted(corpus.prompts) if nonempty(corpus.text(reference, p))]


def present_matrix(features: Features, models: Sequence[str], prompt_ids: Sequence[str]) -> np.ndarray:
    """[models, prompts]: True where the model has a non-empty response."""
    if not models:
        return np.zeros((0, len(prompt_ids)), dtype=bool)
    return np.stack([features.present(m, prompt_ids) for m in models]).reshape(len(models), len(prompt_ids))


def make_scores(name, features, reference, models, pids, values, standardise, description, **info) -> SignalScores:
    """A signal's values with the evidence records behind every compared response."""
    return SignalScores(
        name=name,
        reference=reference,
        models=list(models),
        prompt_ids=list(pids),
        values=values,
        records={m: features.records(m, pids) for m in models},
        reference_records=features.records(reference, pids),
        standardise=standardise,
        description=description,
        info=info,
    )


def check_models(reference: str, models: Sequence[str]) -> list[str]:
    """The compared models, distinct and without the reference."""
    models = list(models)
    if reference in models:
        raise ValueError(f"the reference {reference!r} cannot also be one of the compared models")
    if len(set(models)) != len(models):
        raise ValueError("compared models must be distinct")
    return models
