"""Per-response features of one corpus, computed once and shared by every signal and every pair."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from forensics.corpus import Corpus
from forensics.features.embeddings import get_embedder
from forensics.features.identity import claimed_identity
from forensics.features.refusal import RefusalDetector
from forensics.features.style import STYLE_FEATURES, style_vector, word_ngrams


def nonempty(text: str | None) -> bool:
    return bool(text and text.strip())


HABIT_PROMPT_SHARE = 0.02  # an n-gram is a habit when answers to at least this share of prompts use it
_HABIT_TOKENS = r"(?u)\b\w+\b|[^\w\s]"  # words, and every punctuation or markdown character on its own


def habit_matrix(texts: Sequence[str], n_prompts: int) -> sparse.csr_matrix:
    """Unit-norm IDF-weighted binary habit vectors of ``texts``, laid out model-major: text ``i``
    answers prompt ``i % n_prompts`` (see :meth:`Features.habits`)."""
    vectorizer = CountVectorizer(
        ngram_range=(1, 3), min_df=3, binary=True, token_pattern=_HABIT_TOKENS, dtype=np.float32
    )
    try:
        D = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # nothing occurs three times: no habits
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
    prompt_of = np.arange(len(texts)) % n_prompts
    by_prompt = sparse.csr_matrix(
        (np.ones(len(texts)), (prompt_of, np.arange(len(texts)))), shape=(n_prompts, len(texts))
    )
    spread = np.asarray(((by_prompt @ D) > 0).sum(axis=0)).ravel()
    keep = np.flatnonzero(spread >= max(3, HABIT_PROMPT_SHARE * n_prompts))
    D = D[:, keep]
    df = np.asarray(D.sum(axis=0)).ravel()
    D = D @ sparse.diags(np.log((1.0 + D.shape[0]) / (1.0 + df)) + 1.0)
    norms = np.sqrt(np.asarray(D.multiply(D).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ D).tocsr().astype(np.float32)


class Features:
    """Lazily computed, cached per-response features of one corpus.

    ``embedder`` defaults to the shared offline MiniLM :class:`forensics.features.embeddings.Embedder`.
    ``precompute(models)`` embeds every response of the given models in one batch, which is what
    a benchmark should call first (one cache lookup, one model load, length-sorted batches).

    Three kinds of memo hold everything else: per response (:meth:`_per_response`, one row per
    feature and model over the corpus's sorted prompts), per corpus (:meth:`_fit`, a vocabulary
    fitted once on every response) and per pair of models (:meth:`_pair_cosines`).
    """

    def __init__(self, corpus: Corpus, embedder=None, refusal_detector=None):
        self.corpus = corpus
        self._embedder = embedder
        self._refusal_detector = refusal_detector
        self._pids = sorted(set(corpus.prompts).union(*(set(r) for r in corpus.responses.values())))
        self._pos = {p: i for i, p in enumerate(self._pids)}
        self._emb: dict[str, np.ndarray] = {}  # model -> [n_all_prompts, d] (zeros where not computed)
        self._emb_done: dict[str, np.ndarray] = {}  # model -> bool [n_all_prompts]
        self._dim: int | None = None
        self._memos: dict[tuple[str, str], tuple] = {}  # (feature, model) -> (values, done or None)
        self._fits: dict[object, object] = {}  # corpus-wide fits by name
        self._pairs: dict[tuple[str, str, str], np.ndarray] = {}  # (feature, model a, model b) -> per prompt
        self._index: dict[tuple[str, ...], np.ndarray] = {}

    # -- bookkeeping ----------------------------------------------------------------------
    @property
    def prompt_ids(self) -> list[str]:
        """Every prompt of the corpus, sorted: the positions :meth:`index` returns."""
        return self._pids

    def index(self, prompt_ids: Sequence[str]) -> np.ndarray:
        """Positions of ``prompt_ids`` in the corpus's sorted prompt list (remembered per prompt list:
        a benchmark asks for the same few lists thousands of times)."""
        key = tuple(prompt_ids)
        idx = self._index.get(key)
        if idx is None:
            idx = np.fromiter((self._pos[p] for p in key), dtype=np.int64, count=len(key))
            idx.setflags(write=False)
            if len(self._index) > 256:
                self._index.clear()
            self._index[key] = idx
        return idx

    def _per_response(
        self,
        feature: str,
        model: str,
        prompt_ids: Sequence[str],
        compute: Callable[[str, str], object],
        dtype=object,
    ) -> np.ndarray:
        """``compute(model, prompt_id)`` for each of ``prompt_ids``, each computed once per model and
        remembered under ``feature`` (an array over the corpus's sorted prompts, filled as asked)."""
        key = (feature, model)
        if key not in self._memos:
            self._memos[key] = (np.zeros(len(self._pids), dtype=dtype), np.zeros(len(self._pids), dtype=bool))
        values, done = self._memos[key]
        idx = self.index(prompt_ids)
        if done is not None:  # None once every prompt is computed
            for i in idx[~done[idx]]:
                values[i] = compute(model, self._pids[i])
                done[i] = True
            if done.all():
                self._memos[key] = (values, None)
        return values[idx]

    def present(self, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """True where the model has a non-empty response."""
        return self._per_response("present", model, prompt_ids, lambda m, p: nonempty(self.corpus.text(m, p)), bool)

    def records(self, model: str, prompt_ids: Sequence[str]) -> list[str | None]:
        return self._per_response("records", model, prompt_ids, self.corpus.record).tolist()

    # -- embeddings ---------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def precompute(self, models: Iterable[str], prompt_ids: Iterable[str] | None = None) -> None:
        """Embed every (not yet embedded) response of ``models`` in one batched call."""
        pids = list(prompt_ids) if prompt_ids is not None else self._pids
        idx = self.index(pids)
        todo = []
        for m in models:
            done = self._emb_done.get(m)
            for i in idx:
                if done is None or not done[i]:
                    todo.append((m, i))
        if not todo:
            return
        vecs = np.asarray(
            self.embedder.embed([self.corpus.text(m, self._pids[i]) or "" for m, i in todo]), dtype=np.float32
        )
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
    def _style(self, model: str, prompt_id: str) -> np.ndarray:
        text = self.corpus.text(model, prompt_id)
        return style_vector(text) if nonempty(text) else np.full(len(STYLE_FEATURES), np.nan)

    def style(self, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        rows = self._per_response("style", model, prompt_ids, self._style).tolist()
        return np.stack(rows) if rows else np.zeros((0, len(STYLE_FEATURES)))

    @property
    def refusal_detector(self):
        if self._refusal_detector is None:
            self._refusal_detector = RefusalDetector()
        return self._refusal_detector

    def _refusal(self, model: str, prompt_id: str) -> tuple[bool, str | None] | None:
        text = self.corpus.text(model, prompt_id)
        if not nonempty(text):
            return None
        refused = bool(self.refusal_detector.is_refusal(text))
        return refused, self.refusal_detector.refusal_phrase(text) if refused else None

    def refusals(self, model: str, prompt_ids: Sequence[str]) -> list[tuple[bool, str | None] | None]:
        """(is_refusal, canonical refusal phrase) per prompt; None for a missing/empty response."""
        return self._per_response("refusal", model, prompt_ids, self._refusal).tolist()

    def _identity(self, model: str, prompt_id: str):
        text = self.corpus.text(model, prompt_id)
        return claimed_identity(text) if nonempty(text) else ""

    def identities(self, model: str, prompt_ids: Sequence[str]) -> list:
        """First-person identity claim per prompt (IdentityClaim or None); "" marks a missing or
        empty response."""
        return self._per_response("identity", model, prompt_ids, self._identity).tolist()

    def _answer(self, model: str, prompt_id: str) -> tuple[bool, str | None] | None:
        key = self.corpus.meta.get(prompt_id, {}).get("answer")
        text = self.corpus.text(model, prompt_id)
        if key is None or not hasattr(key, "check") or not nonempty(text):
            return None
        return bool(key.check(text)), key.extract(text)

    def answers(self, model: str, prompt_ids: Sequence[str]) -> list[tuple[bool, str | None] | None]:
        """(correct, extracted answer) per prompt with an answer key; None without key or response."""
        return self._per_response("answers", model, prompt_ids, self._answer).tolist()

    def _fit(self, name, fit: Callable[[], object]):
        """A corpus-wide fit (a vocabulary and its weights over every response), done once."""
        if name not in self._fits:
            self._fits[name] = fit()
        return self._fits[name]

    def ngram_index(self, n: int = 3) -> dict:
        """Word n-grams of every response as sorted global column ids (one column per distinct
        (prompt, n-gram)); ``col_prompt[c]`` is the prompt position of column c."""
        return self._fit(("ngrams", n), lambda: self._fit_ngrams(n))

    def _fit_ngrams(self, n: int) -> dict:
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
        return {
            "n": n,
            "n_cols": offset,
            "col_prompt": np.concatenate(col_prompt) if col_prompt else np.zeros(0, dtype=np.int64),
            "cols": {m: np.sort(np.concatenate(c)) if c else np.zeros(0, dtype=np.int64) for m, c in cols.items()},
        }

    def _model_major(self, name: str, fit: Callable[[list[str]], sparse.csr_matrix], model: str, prompt_ids):
        """Rows of a matrix ``fit`` once on every response of the corpus (model-major, sorted models
        and prompts); zero rows for a model without responses."""

        def fit_all():
            models = sorted(self.corpus.responses)
            texts = [self.corpus.text(m, p) or "" for m in models for p in self._pids]
            return {m: i for i, m in enumerate(models)}, fit(texts)

        rows, matrix = self._fit(name, fit_all)
        row = rows.get(model)
        if row is None:
            return sparse.csr_matrix((len(prompt_ids), matrix.shape[1]))
        return matrix[row * len(self._pids) + self.index(prompt_ids)]

    def tfidf(self, model: str, prompt_ids: Sequence[str]) -> sparse.csr_matrix:
        """Unit-norm TF-IDF word 1-2-gram vectors of the model's responses (zero rows where missing).

        The vocabulary and IDF are fitted once on every response of the corpus (sublinear term
        frequency; n-grams used by fewer than two responses dropped), so every model is scored
        against the same weights and no role enters the fit."""
        return self._model_major("tfidf", _tfidf_matrix, model, prompt_ids)

    def habits(self, model: str, prompt_ids: Sequence[str]) -> sparse.csr_matrix:
        """Unit-norm vectors of each response's *habits*: the word and punctuation 1-3-grams that recur
        across many prompts of the corpus (at least ``HABIT_PROMPT_SHARE`` of them, and 3), so that the
        topic of a prompt, which every answer to it shares, carries no weight, and stock phrasing,
        openers, closers and formatting do. Presence is binary and weighted by IDF over the corpus's
        responses; fitted once per corpus on every response, so no role enters the fit."""
        return self._model_major("habits", lambda texts: habit_matrix(texts, len(self._pids)), model, prompt_ids)

    def _pair_cosines(self, feature: str, vectors, a: str, b: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """Per prompt, the cosine of models ``a`` and ``b``'s unit ``vectors`` (a feature method such as
        :meth:`tfidf`); computed once per pair over every prompt, since it does not depend on who
        else is compared."""
        key = (feature, a, b)
        if key not in self._pairs:
            self._pairs[key] = np.asarray(vectors(a, self._pids).multiply(vectors(b, self._pids)).sum(axis=1)).ravel()
        return self._pairs[key][self.index(prompt_ids)]

    def habit_cosines(self, reference: str, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """Per prompt, the cosine of the two models' habit vectors (once per pair of models)."""
        a, b = (reference, model) if reference <= model else (model, reference)
        return self._pair_cosines("habits", self.habits, a, b, prompt_ids)

    def lexical_cosines(self, reference: str, model: str, prompt_ids: Sequence[str]) -> np.ndarray:
        """Per prompt, the cosine of the two models' TF-IDF vectors (once per ordered pair of models)."""
        return self._pair_cosines("tfidf", self.tfidf, reference, model, prompt_ids)


def _tfidf_matrix(texts: list[str]) -> sparse.csr_matrix:
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=300_000)
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no n-gram occurs twice in the whole corpus
        return sparse.csr_matrix((len(texts), 1))
