"""The closeness store: every signal's per-prompt closeness for every pair of models, computed once per corpus.

A verdict, an attribution over many candidates and a benchmark over hundreds of pairs all ask for
the same closeness values again and again. The store computes each (signal, reference) column once,
against every other model of the corpus over every prompt, and hands out slices. Computing a column
against the whole corpus (never against the few models of one comparison) also makes every value
role-blind: a signal whose scale depends on the other answers (style, fingerprint, rare wording)
sees the same background whoever is the suspect.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.registry import SIGNALS
from forensics.signals.scores import SignalScores, make_scores


class ClosenessStore:
    """Per-prompt closeness ``row(signal, reference, model)`` over the corpus's sorted prompts.

    ``models``: the models whose closeness will ever be asked (default: every model of the corpus);
    a benchmark that scores a few of many models passes them, and every column is computed against
    exactly those, whoever plays which part."""

    def __init__(self, corpus: Corpus, features: Features | None = None, models: Iterable[str] | None = None):
        self.corpus = corpus
        self.features = features or Features(corpus)
        self.models = sorted(set(models) if models is not None else corpus.responses)
        unknown = [m for m in self.models if m not in corpus.responses]
        if unknown:
            raise ValueError(f"models without responses in corpus {corpus.name!r}: {unknown}")
        self._columns: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._info: dict[tuple[str, str], dict] = {}

    @property
    def prompt_ids(self) -> list[str]:
        return self.features.prompt_ids

    def _column(self, signal: str, reference: str) -> dict[str, np.ndarray]:
        key = (signal, reference)
        if key not in self._columns:
            if signal not in SIGNALS:
                raise ValueError(f"unknown signal {signal!r}; known: {sorted(SIGNALS)}")
            if reference not in self.models:
                raise ValueError(f"model {reference!r} is not among the store's models of corpus {self.corpus.name!r}")
            others = [m for m in self.models if m != reference]
            scores = SIGNALS[signal](self.corpus, reference, others, features=self.features, prompt_ids=self.prompt_ids)
            self._columns[key] = {m: scores.values[i] for i, m in enumerate(scores.models)}
            self._info[key] = dict(scores.info, standardise=scores.standardise, description=scores.description)
        return self._columns[key]

    def precompute(self, signals: Iterable[str], references: Iterable[str], workers: int | None = None) -> None:
        """Compute every (signal, reference) column not yet held, spread over ``workers`` processes
        (default: the CPU count). Each signal's corpus-wide fit (TF-IDF, habits, style spreads) is
        done once here first, so the forked workers share it instead of redoing it; each worker
        returns only its columns, so memory grows with the columns, not with the workers."""
        signals, references = list(signals), list(references)
        todo = [(g, r) for g in signals for r in references if (g, r) not in self._columns]
        if not todo:
            return
        workers = min(workers or os.cpu_count() or 1, len(todo))
        if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for g, r in todo:
                self._column(g, r)
            return
        for g in dict.fromkeys(g for g, _ in todo):  # the corpus-wide fits, inherited by the workers
            self._column(g, next(r for h, r in todo if h == g))
        todo = [(g, r) for g, r in todo if (g, r) not in self._columns]
        global _FORKED
        _FORKED = self
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                for key, column, info in pool.map(
                    _column_in_worker, todo, chunksize=max(1, len(todo) // (4 * workers))
                ):
                    self._columns[key] = column
                    self._info[key] = info
        finally:
            _FORKED = None

    def row(self, signal: str, reference: str, model: str, prompt_ids: Sequence[str] | None = None) -> np.ndarray:
        """Closeness of ``model`` to ``reference`` on each prompt (NaN where undefined)."""
        if model == reference:
            raise ValueError(f"a model's closeness to itself is not a signal ({model!r})")
        column = self._column(signal, reference)
        if model not in column:
            raise ValueError(f"model {model!r} is not among the store's models of corpus {self.corpus.name!r}")
        values = column[model]
        return values if prompt_ids is None else values[self.features.index(prompt_ids)]

    def matrix(
        self, signal: str, models: Sequence[str], references: Sequence[str], prompt_ids: Sequence[str]
    ) -> np.ndarray:
        """[models, references, prompts]; NaN where undefined and where a model is the reference."""
        idx = self.features.index(prompt_ids)
        out = np.full((len(models), len(references), len(idx)), np.nan)
        for j, r in enumerate(references):
            column = self._column(signal, r)
            for i, m in enumerate(models):
                if m != r:
                    out[i, j] = column[m][idx]
        return out

    def mean(self, signal: str, reference: str, model: str, prompt_ids: Sequence[str]) -> float:
        """Mean closeness over the prompts where it is defined (NaN if none)."""
        v = self.row(signal, reference, model, prompt_ids)
        ok = np.isfinite(v)
        return float(v[ok].mean()) if ok.any() else float("nan")

    def scores(self, signal: str, reference: str, models: Iterable[str], prompt_ids: Sequence[str]) -> SignalScores:
        """The classic per-reference view: one signal's closeness of ``models`` to ``reference``."""
        models = list(models)
        values = np.stack([self.row(signal, reference, m, prompt_ids) for m in models]) if models else None
        if values is None:
            values = np.zeros((0, len(prompt_ids)))
        info = dict(self._info[(signal, reference)])
        standardise, description = info.pop("standardise"), info.pop("description")
        return make_scores(
            signal, self.features, reference, models, prompt_ids, values, standardise, description, **info
        )


def covering_store(
    store: ClosenessStore | None, corpus: Corpus, features: Features | None, models: Iterable[str]
) -> ClosenessStore:
    """``store`` when it holds every one of ``models``, else a store of just these models (on the
    store's features when there is one, so nothing is embedded twice). Either gives the same values:
    a column's value for a pair of models does not depend on the other models of the store."""
    models = list(dict.fromkeys(models))
    if store is not None and set(models) <= set(store.models):
        return store
    return ClosenessStore(corpus, store.features if store is not None else features, models=models)


_FORKED: ClosenessStore | None = None  # the store a forked worker computes columns of


def _column_in_worker(key: tuple[str, str]):
    column = _FORKED._column(*key)
    return key, column, _FORKED._info[key]
