"""Closeness signals: per prompt, how close is each model's response to the reference's?

Every signal is a small pure function ``signal(corpus, reference, models, features=None,
prompt_ids=None) -> SignalScores`` (``closeness_matrix(corpus, reference, models, signal=name)``
runs one by name, ``compute_signals`` several) whose ``values[i, j]`` says how close ``models[i]``'s response to
prompt ``prompt_ids[j]`` is to the reference's response (larger = closer), with NaN where the
comparison is undefined (a missing or empty response, a prompt the signal does not speak to).
Signals never look at any model's role: the caller decides who is the suspect and who is panel.

Several signals are *relative to the comparison set* (``models``): the per-prompt centroid of
the embedding signal and the background of the rare-phrase signal are computed from the
``models`` passed in (never from the reference). The statistics pass the suspect and its panel
together, so every model, suspect or panel member, is scored in the same symmetric way; this
symmetry is what makes the panel a valid null reference (see :mod:`forensics.statistics`).

Signals (``SIGNALS``):

``embedding``
    cosine similarity between the reference's and the model's response embeddings. The
    statistics standardise it per prompt across the compared models (centre on their mean,
    scale by their spread), which removes "everyone says similar things on this prompt". We do
    *not* centre the embeddings themselves on the panel centroid for this signal: on a panel of
    mostly verbose models, the residuals of all terse answers point the same way, so two terse
    models would look alike whatever their lineage (a length artefact).
``fingerprint``
    projection of the model's centred response embedding (per-prompt centroid of the comparison
    set removed) onto the reference's *consistent* direction: the reference's mean centred
    embedding over prompts, whitened by the (Ledoit-Wolf shrunk) within-prompt covariance of the
    comparison set. A linear discriminant for "does this answer carry R's house style", which
    down-weights the directions in which answers vary most anyway (such as length).
``style``
    negative standardised distance between stylometric vectors (:func:`forensics.style.style_vector`)
    of the two responses: formatting habits, length, openers and closers.
``refusal``
    defined on prompts where the reference or the model refuses: 0 when only one of them refuses,
    and 0.5 + 0.5 * (token overlap of the two canonical refusal phrases) when both do, so its mean
    is a phrasing-weighted Jaccard agreement of refusal behaviour.
``idiosyncratic``
    on probes with answer keys (``corpus.meta[pid]["answer"]``): where the reference's answer is
    WRONG, 1 if the model commits to the same wrong answer, else 0 (error consistency, not accuracy);
    elsewhere undefined. Without answer keys: agreement on rare specific wording,
    the IDF-weighted Jaccard overlap of word 3-grams with the comparison set's other responses to
    the same prompt as background (the definition of :func:`forensics.style.shared_rare_ngrams`,
    vectorised).
``identity``
    1 when the model's response makes a first-person claim to be the reference's vendor
    (:func:`forensics.identity.claimed_identity`), else 0. The reference's vendor is the one it
    claims itself most often, else the one its name points to; the signal is undefined (all
    NaN) when neither is known.

Per-response features (embeddings, style vectors, refusal scores, identity claims, n-grams) are
computed once per corpus by :class:`Features` and shared by all signals and all pairs.
"""
from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from forensics.corpus import Corpus

__all__ = ["SignalScores", "Features", "SIGNALS", "DEFAULT_SIGNALS", "compute_signals", "closeness_matrix",
           "embedding_signal", "fingerprint_signal", "style_signal", "refusal_signal",
           "idiosyncratic_signal", "identity_signal", "reference_vendor", "vendor_from_name"]


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
            raise ValueError(f"signal {self.name}: values shape {self.values.shape} does not match "
                             f"{len(self.models)} models x {len(self.prompt_ids)} prompts")

    def row(self, model: str) -> np.ndarray:
        return self.values[self.models.index(model)]

    @property
    def defined(self) -> bool:
        """True when every model has at least one defined prompt."""
        return bool(self.values.size) and bool(np.all(np.any(np.isfinite(self.values), axis=1)))

    def model_means(self) -> dict[str, float]:
        with np.errstate(all="ignore"):
            return {m: float(np.nanmean(r)) if np.any(np.isfinite(r)) else float("nan")
                    for m, r in zip(self.models, self.values)}

    def subset(self, models: Sequence[str] | None = None, prompt_ids: Sequence[str] | None = None) -> "SignalScores":
        mi = [self.models.index(m) for m in (models if models is not None else self.models)]
        pos = {p: j for j, p in enumerate(self.prompt_ids)}
        pj = [pos[p] for p in (prompt_ids if prompt_ids is not None else self.prompt_ids)]
        return SignalScores(self.name, self.reference, [self.models[i] for i in mi],
                            [self.prompt_ids[j] for j in pj], self.values[np.ix_(mi, pj)],
                            {self.models[i]: [self.records.get(self.models[i], [None] * len(self.prompt_ids))[j]
                                              for j in pj] for i in mi},
                            [self.reference_records[j] for j in pj] if self.reference_records else [],
                            self.standardise, self.description, dict(self.info))


# ---------------------------------------------------------------------------------------------
# Per-response features, computed once per corpus
# ---------------------------------------------------------------------------------------------

def _nonempty(text: str | None) -> bool:
    return bool(text and text.strip())


class Features:
    """Lazily computed, cached per-response features of one corpus.

    ``embedder`` defaults to the shared offline MiniLM :class:`forensics.embeddings.Embedder`.
    ``precompute(models)`` embeds every response of the given models in one batch, which is what
    a benchmark should call first (one cache lookup, one model load, length-sorted batches).
    """

    def __init__(self, corpus: Corpus, embedder=None, refusal_detector=None):
        self.corpus = corpus
        self._embedder = embedder
        self._refusal_detector = refusal_detector
        self._pids = sorted(set(corpus.prompts).union(*(set(r) for r in corpus.responses.values())))
        self._pos = {p: i for i, p in enumerate(self._pids)}
        self._emb: dict[str, np.ndarray] = {}  # model -> [n_all_prompts, d] (zeros where not computed)
        self._emb_done: dict[str, np.ndarray] = {}  # model -> bool [n_all_prompts]
        self._style: dict[str, dict[str, np.ndarray]] = {}
        self._refusal: dict[str, dict[str, tuple[bool, str | None]]] = {}
        self._identity: dict[str, dict[str, object]] = {}
        self._answers: dict[str, dict[str, tuple[bool, str | None]]] = {}
        self._present: dict[str, np.ndarray] = {}
        self._records: dict[str, list[str | None]] = {}
        self._ngrams: dict | None = None
        self._dim: int | None = None

    # -- bookkeeping ----------------------------------------------------------------------
    def index(self, prompt_ids: Sequence[str]) -> np.ndarray:
        """Positions of ``prompt_ids`` in the corpus's sorted prompt list."""
        return np.fromiter((self._pos[p] for p in prompt_ids), dtype=np.int64, count=len(prompt_ids))

    def present(self, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """True where the model has a non-empty response."""
        if model not in self._present:
            self._present[model] = np.array([_nonempty(self.corpus.text(model, p)) for p in self._pids], dtype=bool)
        return self._present[model][self.index(prompt_ids)]

    def records(self, model: str, prompt_ids: Sequence[str]) -> list[str | None]:
        if model not in self._records:
            self._records[model] = [self.corpus.record(model, p) for p in self._pids]
        rec = self._records[model]
        return [rec[i] for i in self.index(prompt_ids)]

    # -- embeddings ---------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from forensics.embeddings import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def precompute(self, models: Iterable[str], prompt_ids: Iterable[str] | None = None) -> None:
        """Embed every (not yet embedded) response of ``models`` in one batched call."""
        pids = list(prompt_ids) if prompt_ids is not None else self._pids
        idx = self.index(pids)
        todo = []
        for m in models:
            done = self._emb_done.get(m)
            for p, i in zip(pids, idx):
                if done is None or not done[i]:
                    todo.append((m, i))
        if not todo:
            return
        vecs = np.asarray(self.embedder.embed([self.corpus.text(m, self._pids[i]) or "" for m, i in todo]),
                          dtype=np.float32)
        self._dim = vecs.shape[1]
        for (m, i), v in zip(todo, vecs):
            if m not in self._emb:
                self._emb[m] = np.zeros((len(self._pids), self._dim), dtype=np.float32)
                self._emb_done[m] = np.zeros(len(self._pids), dtype=bool)
            self._emb[m][i] = v
            self._emb_done[m][i] = True

    def embeddings(self, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """Unit embeddings [n, d]; zero rows for missing or empty responses."""
        idx = self.index(prompt_ids)
        done = self._emb_done.get(model)
        if done is None or not done[idx].all():
            self.precompute([model], prompt_ids)
        if model not in self._emb:  # nothing to embed at all (no prompts)
            dim = self._dim or self.embedder.dim
            return np.zeros((len(idx), dim), dtype=np.float32)
        return self._emb[model][idx]

    # -- text features ------------------------------------------------------------------
    def style(self, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        from forensics.style import STYLE_FEATURES, style_vector

        cache = self._style.setdefault(model, {})
        out = []
        for p in prompt_ids:
            if p not in cache:
                text = self.corpus.text(model, p)
                cache[p] = style_vector(text) if _nonempty(text) else np.full(len(STYLE_FEATURES), np.nan)
            out.append(cache[p])
        return np.stack(out) if out else np.zeros((0, len(STYLE_FEATURES)))

    @property
    def refusal_detector(self):
        if self._refusal_detector is None:
            from forensics.refusal import RefusalDetector

            self._refusal_detector = RefusalDetector()
        return self._refusal_detector

    def refusals(self, model: str, prompt_ids: Sequence[str]) -> list[tuple[bool, str | None] | None]:
        """(is_refusal, canonical refusal phrase) per prompt; None for a missing/empty response."""
        cache = self._refusal.setdefault(model, {})
        out = []
        for p in prompt_ids:
            if p not in cache:
                text = self.corpus.text(model, p)
                if not _nonempty(text):
                    cache[p] = None
                else:
                    refused = bool(self.refusal_detector.is_refusal(text))
                    phrase = self.refusal_detector.refusal_phrase(text) if refused else None
                    cache[p] = (refused, phrase)
            out.append(cache[p])
        return out

    def identities(self, model: str, prompt_ids: Sequence[str]) -> list:
        """First-person identity claim per prompt (IdentityClaim or None); "" marks a missing or
        empty response."""
        from forensics.identity import claimed_identity

        cache = self._identity.setdefault(model, {})
        out = []
        for p in prompt_ids:
            if p not in cache:
                text = self.corpus.text(model, p)
                cache[p] = claimed_identity(text) if _nonempty(text) else ""
            out.append(cache[p])
        return out

    def answers(self, model: str, prompt_ids: Sequence[str]) -> list[tuple[bool, str | None] | None]:
        """(correct, extracted answer) per prompt with an answer key; None without key or response."""
        cache = self._answers.setdefault(model, {})
        out = []
        for p in prompt_ids:
            if p not in cache:
                key = self.corpus.meta.get(p, {}).get("answer")
                text = self.corpus.text(model, p)
                if key is None or not hasattr(key, "check") or not _nonempty(text):
                    cache[p] = None
                else:
                    cache[p] = (bool(key.check(text)), key.extract(text))
            out.append(cache[p])
        return out

    def ngram_index(self, n: int = 3) -> dict:
        """Word n-grams of every response as sorted global column ids (one column per distinct
        (prompt, n-gram)); ``col_prompt[c]`` is the prompt position of column c."""
        if self._ngrams is None or self._ngrams["n"] != n:
            from forensics.style import word_ngrams

            cols: dict[str, list[np.ndarray]] = {m: [] for m in self.corpus.responses}
            col_prompt = []
            offset = 0
            for i, p in enumerate(self._pids):
                vocab: dict[str, int] = {}
                for m in self.corpus.responses:
                    grams = word_ngrams(self.corpus.text(m, p), n)
                    ids = [vocab.setdefault(g, len(vocab)) for g in grams]
                    cols[m].append(np.array(ids, dtype=np.int64) + offset)
                col_prompt.append(np.full(len(vocab), i, dtype=np.int64))
                offset += len(vocab)
            self._ngrams = {
                "n": n, "n_cols": offset,
                "col_prompt": np.concatenate(col_prompt) if col_prompt else np.zeros(0, dtype=np.int64),
                "cols": {m: np.sort(np.concatenate(c)) if c else np.zeros(0, dtype=np.int64) for m, c in cols.items()},
            }
        return self._ngrams


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _prompts_for(corpus: Corpus, reference: str, prompt_ids: Sequence[str] | None) -> list[str]:
    """The prompts to score: those given, or every prompt the reference answered (non-empty)."""
    if prompt_ids is not None:
        return list(prompt_ids)
    return [p for p in sorted(corpus.prompts) if _nonempty(corpus.text(reference, p))]


def _present(features: "Features", models: Sequence[str], prompt_ids: Sequence[str]) -> np.ndarray:
    if not models:
        return np.zeros((0, len(prompt_ids)), dtype=bool)
    return np.stack([features.present(m, prompt_ids) for m in models]).reshape(len(models), len(prompt_ids))


def _scores(name, features, reference, models, pids, values, standardise, description, **info) -> SignalScores:
    return SignalScores(name=name, reference=reference, models=list(models), prompt_ids=list(pids),
                        values=values, records={m: features.records(m, pids) for m in models},
                        reference_records=features.records(reference, pids),
                        standardise=standardise, description=description, info=info)


def _check_models(reference: str, models: Sequence[str]) -> list[str]:
    models = list(models)
    if reference in models:
        raise ValueError(f"the reference {reference!r} cannot also be one of the compared models")
    if len(set(models)) != len(models):
        raise ValueError("compared models must be distinct")
    return models


# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------

def embedding_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                     prompt_ids: Sequence[str] | None = None) -> SignalScores:
    """Cosine similarity of the two responses' embeddings (see module docstring).

    The values are raw cosines; the statistics centre and scale them per prompt across the
    compared models (``standardise=True``), which removes "everyone says similar things on this
    prompt" in similarity space."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    present = _present(features, models, pids)
    ref_ok = features.present(reference, pids)
    X = np.stack([features.embeddings(m, pids) for m in models]).astype(np.float64)  # M x P x d
    r = features.embeddings(reference, pids).astype(np.float64)
    values = np.einsum("mpd,pd->mp", X, r)
    values = np.where(present & ref_ok[None], values, np.nan)
    return _scores("embedding", features, reference, models, pids, values, True,
                   "cosine similarity of response embeddings (standardised per prompt against the panel)")


def _ledoit_wolf_solve(X: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (Ledoit-Wolf shrunk covariance of the centred rows X) @ x = b.

    The shrinkage towards a scaled identity is the analytic Ledoit & Wolf (2004) estimate
    (as in ``sklearn.covariance.ledoit_wolf``); with fewer rows than dimensions the solve uses
    the Woodbury identity on the n x n Gram matrix."""
    from scipy.linalg import cho_factor, cho_solve

    n, d = X.shape
    X = np.asarray(X, dtype=np.float64)
    sq = np.einsum("ij,ij->i", X, X)
    mu = sq.sum() / (n * d)
    G = (X.T @ X) if n >= d else (X @ X.T)
    s_fro = float(np.sum(G * G)) / n ** 2  # ||S||_F^2 with S = X'X / n (same from the n x n Gram)
    delta = (s_fro - 2 * mu * sq.sum() / n + d * mu ** 2) / d  # ||S - mu I||_F^2 / d
    beta = (np.sum(sq ** 2) / n - s_fro) / (n * d)
    shrink = 1.0 if delta <= 0 else float(np.clip(min(beta, delta) / delta, 0.0, 1.0))
    a_coef, b_coef = (1.0 - shrink) / n, max(shrink * mu, 1e-12 * max(mu, 1e-12))
    if a_coef == 0:
        return b / b_coef
    if n >= d:
        return cho_solve(cho_factor(a_coef * G + b_coef * np.eye(d)), b)
    inner = (b_coef / a_coef) * np.eye(n) + G
    return (b - X.T @ cho_solve(cho_factor(inner), X @ b)) / b_coef


def fingerprint_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                       prompt_ids: Sequence[str] | None = None) -> SignalScores:
    """Projection on the reference's whitened mean centred-embedding direction (see module docstring)."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    present = _present(features, models, pids)
    ref_ok = features.present(reference, pids)
    X = np.stack([features.embeddings(m, pids) for m in models]).astype(np.float64)
    r = features.embeddings(reference, pids).astype(np.float64)
    w = present[:, :, None].astype(float)
    with np.errstate(all="ignore"):
        centroid = np.nan_to_num((X * w).sum(0) / w.sum(0))
    xr = X - centroid[None]
    usable = ref_ok & (present.sum(0) >= 2)
    values = np.full((len(models), len(pids)), np.nan)
    if usable.sum() >= 2:
        mu_r = (r - centroid)[usable].mean(0)
        # within-prompt covariance of the comparison set, after removing each model's mean
        rows = []
        for i in range(len(models)):
            sel = present[i] & usable
            if sel.sum() >= 2:
                rows.append(xr[i, sel] - xr[i, sel].mean(0))
        if rows:
            direction = _ledoit_wolf_solve(np.concatenate(rows), mu_r)
            norm = math.sqrt(max(float(mu_r @ direction), 1e-18))
            values = (xr @ direction) / norm
            values = np.where(present & usable[None], values, np.nan)
    return _scores("fingerprint", features, reference, models, pids, values, True,
                   "projection on the reference's whitened consistent embedding direction")


def style_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                 prompt_ids: Sequence[str] | None = None, clip: float = 4.0) -> SignalScores:
    """Negative RMS standardised distance between stylometric vectors of the two responses.

    Each style feature is scaled by its standard deviation over the comparison set's responses
    (features that never vary are dropped) and per-feature differences are clipped at ``clip``
    standard deviations so that one rare habit cannot dominate a prompt."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    S = np.stack([features.style(m, pids) for m in models])  # M x P x F
    r = features.style(reference, pids)
    flat = S.reshape(-1, S.shape[-1])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(flat, axis=0)
    keep = np.isfinite(sd) & (sd > 1e-9)
    values = np.full((len(models), len(pids)), np.nan)
    if keep.any():
        d = np.abs(S[..., keep] - r[None, :, keep]) / sd[keep]
        d = np.minimum(d, clip)
        with np.errstate(all="ignore"):
            values = -np.sqrt(np.mean(d ** 2, axis=-1))
    return _scores("style", features, reference, models, pids, values, True,
                   "closeness of formatting and wording habits (style vectors)")


def _token_set(phrase: str | None) -> set[str]:
    return set(re.findall(r"\w+(?:'\w+)?", (phrase or "").lower()))


def refusal_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                   prompt_ids: Sequence[str] | None = None) -> SignalScores:
    """Refusal agreement weighted by phrasing similarity (see module docstring)."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    ref = features.refusals(reference, pids)
    values = np.full((len(models), len(pids)), np.nan)
    for i, m in enumerate(models):
        for j, (a, b) in enumerate(zip(ref, features.refusals(m, pids))):
            if a is None or b is None or not (a[0] or b[0]):
                continue
            if a[0] and b[0]:
                ta, tb = _token_set(a[1]), _token_set(b[1])
                sim = len(ta & tb) / len(ta | tb) if (ta | tb) else 1.0
                values[i, j] = 0.5 + 0.5 * sim
            else:
                values[i, j] = 0.0
    n_ref = sum(1 for a in ref if a and a[0])
    return _scores("refusal", features, reference, models, pids, values, False,
                   "agreement on which prompts are refused, weighted by refusal phrasing",
                   reference_refusals=n_ref)


def _rare_ngram_values(corpus: Corpus, reference: str, models: Sequence[str], pids: Sequence[str],
                       features: Features, n: int = 3) -> np.ndarray:
    """IDF-weighted Jaccard of word n-grams; the background of model m on a prompt is the other
    compared models' (non-empty) responses to it. Same definition as
    :func:`forensics.style.shared_rare_ngrams`, vectorised over prompts."""
    index = features.ngram_index(n)
    col_prompt, n_cols = index["col_prompt"], index["n_cols"]
    pos = features.index(pids)
    where = np.full(len(features._pids), -1, dtype=np.int64)  # corpus prompt position -> column of values
    where[pos] = np.arange(len(pids))
    present = _present(features, models, pids)
    ref_ok = features.present(reference, pids)

    everything = len(pids) == len(features._pids)

    def restrict(cols: np.ndarray) -> np.ndarray:
        return cols if everything else cols[where[col_prompt[cols]] >= 0]

    empty = np.zeros(0, dtype=np.int64)
    cols_m = [restrict(index["cols"].get(m, empty)) for m in models]
    cols_r = restrict(index["cols"].get(reference, empty))
    df = np.zeros(n_cols, dtype=np.int32)
    for c in cols_m:
        df[c] += 1
    in_r = np.zeros(n_cols, dtype=bool)
    in_r[cols_r] = True
    n_bg = present.sum(0) - 1  # per prompt: other compared models with a response
    j_r = where[col_prompt[cols_r]]
    values = np.full((len(models), len(pids)), np.nan)
    in_m = np.zeros(n_cols, dtype=bool)
    for i, c in enumerate(cols_m):
        shared = in_r[c]
        inter, only_m = c[shared], c[~shared]
        in_m[c] = True
        # weights log((1 + N_bg) / (1 + df_bg)) + 1, df_bg = df among the other compared models
        w_r = np.log((1.0 + n_bg[j_r]) / (1.0 + df[cols_r] - in_m[cols_r])) + 1.0
        j_m = where[col_prompt[only_m]]
        w_m = np.log((1.0 + n_bg[j_m]) / df[only_m]) + 1.0  # df_bg = df - 1
        j_i = where[col_prompt[inter]]
        w_i = np.log((1.0 + n_bg[j_i]) / df[inter]) + 1.0
        in_m[c] = False
        den = (np.bincount(j_r, weights=w_r, minlength=len(pids))
               + np.bincount(j_m, weights=w_m, minlength=len(pids)))
        num = np.bincount(j_i, weights=w_i, minlength=len(pids))
        with np.errstate(all="ignore"):
            v = num / den
        ok = present[i] & ref_ok & (den > 0)
        values[i] = np.where(ok, v, np.nan)
    return values


def idiosyncratic_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                         prompt_ids: Sequence[str] | None = None) -> SignalScores:
    """Error consistency on answer-keyed probes, else agreement on rare wording (module docstring)."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    keyed = [p for p in pids if hasattr(corpus.meta.get(p, {}).get("answer"), "check")]
    if keyed:
        ref = features.answers(reference, pids)
        values = np.full((len(models), len(pids)), np.nan)
        n_wrong = 0
        for j, a in enumerate(ref):
            if a is None or a[0] or a[1] is None:
                continue  # reference right, unanswered, or no key: says nothing about shared errors
            n_wrong += 1
            for i, m in enumerate(models):
                b = features.answers(m, [pids[j]])[0]
                if b is not None:
                    values[i, j] = float(b[1] is not None and b[1] == a[1])
        return _scores("idiosyncratic", features, reference, models, pids, values, False,
                       "same wrong answer as the reference on answer-keyed probes (error consistency)",
                       mode="error_consistency", reference_errors=n_wrong, keyed_prompts=len(keyed))
    values = _rare_ngram_values(corpus, reference, models, pids, features)
    return _scores("idiosyncratic", features, reference, models, pids, values, True,
                   "agreement on rare specific wording (IDF-weighted shared word 3-grams)", mode="rare_ngrams")


def vendor_from_name(name: str) -> str | None:
    """The vendor a model's *name* points to ("gpt4_0314" -> OpenAI, "claude-2" -> Anthropic), using
    the identity module's alias table; None when the name names no known model or vendor."""
    from forensics.identity import claimed_identity

    words = [w for w in re.split(r"[\s_/]+", name) if w]
    cased = [w[:1].upper() + w[1:] for w in words]
    for candidate in [" ".join(cased)] + cased + [p for w in cased for p in w.split("-")[:1]]:
        claim = claimed_identity(f"I am {candidate}")
        if claim is not None and claim.vendor:
            return claim.vendor
    return None


def reference_vendor(corpus: Corpus, reference: str, features: Features | None = None,
                     prompt_ids: Sequence[str] | None = None) -> str | None:
    """The vendor the reference most often claims to be; if it never self-identifies, the vendor
    its name points to (:func:`vendor_from_name`); None when neither is known."""
    features = features or Features(corpus)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    vendors = Counter(c.vendor for c in features.identities(reference, pids) if c and c.vendor)
    if vendors:
        return vendors.most_common(1)[0][0]
    return vendor_from_name(reference)


def identity_signal(corpus: Corpus, reference: str, models: Sequence[str], features: Features | None = None,
                    prompt_ids: Sequence[str] | None = None, vendor: str | None = None) -> SignalScores:
    """1 where the model claims the reference's vendor as its own (see module docstring).

    The reference's vendor is ``vendor`` if given, else :func:`reference_vendor`; when it is
    unknown the signal is undefined (all NaN)."""
    models = _check_models(reference, models)
    features = features or Features(corpus)
    pids = _prompts_for(corpus, reference, prompt_ids)
    vendor = vendor or reference_vendor(corpus, reference, features)
    values = np.full((len(models), len(pids)), np.nan)
    if vendor is not None:
        for i, m in enumerate(models):
            for j, claim in enumerate(features.identities(m, pids)):
                if claim == "":
                    continue
                values[i, j] = float(claim is not None and claim.vendor == vendor)
    return _scores("identity", features, reference, models, pids, values, False,
                   "claims the reference's vendor as its own", vendor=vendor)


SignalFn = Callable[..., SignalScores]
SIGNALS: dict[str, SignalFn] = {
    "embedding": embedding_signal,
    "fingerprint": fingerprint_signal,
    "style": style_signal,
    "refusal": refusal_signal,
    "idiosyncratic": idiosyncratic_signal,
    "identity": identity_signal,
}
DEFAULT_SIGNALS: tuple[str, ...] = tuple(SIGNALS)


def closeness_matrix(corpus: Corpus, reference: str, models: Sequence[str], signal: str = "embedding",
                     features: Features | None = None, prompt_ids: Sequence[str] | None = None) -> SignalScores:
    """How close is each of ``models``' responses to ``reference``'s, prompt by prompt, for one signal.

    ``values[i, j]`` is the closeness of ``models[i]`` on ``prompt_ids[j]`` (NaN where undefined)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal!r}; known: {sorted(SIGNALS)}")
    return SIGNALS[signal](corpus, reference, models, features=features or Features(corpus), prompt_ids=prompt_ids)


def compute_signals(corpus: Corpus, reference: str, models: Sequence[str], signals: Iterable[str] | None = None,
                    features: Features | None = None, prompt_ids: Sequence[str] | None = None) -> list[SignalScores]:
    """Run the named signals (default: all) for ``models`` against ``reference``."""
    features = features or Features(corpus)
    names = list(signals) if signals is not None else list(DEFAULT_SIGNALS)
    unknown = [s for s in names if s not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal(s) {unknown}; known: {sorted(SIGNALS)}")
    pids = _prompts_for(corpus, reference, prompt_ids)
    return [SIGNALS[s](corpus, reference, models, features=features, prompt_ids=pids) for s in names]
