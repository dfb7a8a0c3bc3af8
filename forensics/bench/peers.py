"""Published-style peer methods, computed on exactly the benchmark's pairs so the engine is compared fairly.

Each peer scores one (R, S) pair and declares its own decision threshold. Closeness comes from the
same :class:`forensics.signals.ClosenessStore` the engine reads, so every mean cosine of a corpus
is computed once, whoever asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression

from forensics.signals import ClosenessStore

__all__ = ["PEERS", "Peer", "PeerContext", "raw_closeness", "panel_z", "classifier_score", "lexical_contrast"]


@dataclass(frozen=True)
class PeerContext:
    """What a peer may see of one pair: the store, the pair, its panel and who in it is a reference."""

    store: ClosenessStore
    reference: str
    suspect: str
    panel: Sequence[str]
    families: Mapping[str, str]
    prompt_ids: Sequence[str]
    rng: np.random.Generator
    cache: dict = field(default_factory=dict)  # what a peer may reuse across the pairs of one run

    @property
    def independents(self) -> list[str]:
        return [m for m in self.panel if m not in self.families]


def raw_closeness(store: ClosenessStore, reference: str, model: str, prompt_ids: Sequence[str]) -> float:
    """Mean per-prompt cosine of the two models' response embeddings (prompts both answered)."""
    return store.mean("embedding", reference, model, prompt_ids)


def panel_z(
    store: ClosenessStore, reference: str, suspect: str, panel: Sequence[str], prompt_ids: Sequence[str]
) -> float:
    """Raw closeness of S to R as a z-score against the panel members' closeness to R."""
    x = raw_closeness(store, reference, suspect, prompt_ids)
    k = np.array([raw_closeness(store, reference, m, prompt_ids) for m in panel])
    k = k[np.isfinite(k)]
    if k.size < 2 or not np.isfinite(x) or k.std(ddof=1) == 0:
        return float("nan")
    return float((x - k.mean()) / k.std(ddof=1))


def classifier_score(
    store: ClosenessStore,
    reference: str,
    suspect: str,
    panel: Sequence[str],
    prompt_ids: Sequence[str],
    *,
    rng: np.random.Generator | None = None,
    cache: dict | None = None,
) -> float:
    """ "Idiosyncrasies"-style: logistic regression R vs panel on half of the prompts, mean P(R) for S on the rest.

    The split is a random permutation of the prompts drawn from ``rng`` (default: seed 0, the
    setting that reproduces the baseline figures of the shared benchmark README). ``cache`` keeps
    each fitted classifier by (R, panel, prompts, split): every student shares R's panel.
    """
    features = store.features
    rng = np.random.default_rng(0) if rng is None else rng
    pids = list(prompt_ids)
    perm = rng.permutation(len(pids))
    train = [pids[i] for i in perm[: len(pids) // 2]]
    test = [pids[i] for i in perm[len(pids) // 2 :]]

    def rows(model: str, ids: list[str]) -> np.ndarray:
        return features.embeddings(model, ids)[features.present(model, ids)]

    scored = rows(suspect, test)
    key = (reference, tuple(panel), tuple(pids), tuple(perm))
    clf = (cache or {}).get(key)
    if clf is None:
        positives = rows(reference, train)
        negatives = np.concatenate([rows(m, train) for m in panel]) if panel else np.empty((0, positives.shape[1]))
        if not len(positives) or not len(negatives):
            return float("nan")
        X = np.concatenate([positives, negatives])
        y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        clf = LogisticRegression(max_iter=3000, class_weight="balanced").fit(X, y)
        if cache is not None:
            cache[key] = clf
    if not len(scored):
        return float("nan")
    return float(clf.predict_proba(scored)[:, 1].mean())


def lexical_contrast(store: ClosenessStore, reference: str, model: str, others: Sequence[str], prompt_ids) -> float:
    """Mean TF-IDF word 1-2-gram cosine to R minus the mean over ``others`` (references of other families)."""
    x = store.mean("lexical", reference, model, prompt_ids)
    rest = [store.mean("lexical", o, model, prompt_ids) for o in others if o != model]
    rest = [v for v in rest if np.isfinite(v)]
    return float(x - np.mean(rest)) if rest and np.isfinite(x) else float("nan")


def _lexical_contrast_score(ctx: PeerContext) -> tuple[float, bool]:
    """The lexical-contrast peer: its score, declared when a one-draw t-test against the panel's
    independent models' contrasts (K - 1 df) gives p < 0.05."""
    fam = ctx.families.get(ctx.reference, ctx.reference)
    others = [m for m in ctx.panel if m in ctx.families and ctx.families[m] != fam]
    score = lexical_contrast(ctx.store, ctx.reference, ctx.suspect, others, ctx.prompt_ids)
    k = np.array([lexical_contrast(ctx.store, ctx.reference, m, others, ctx.prompt_ids) for m in ctx.independents])
    k = k[np.isfinite(k)]
    if k.size < 2 or not np.isfinite(score) or k.std(ddof=1) == 0:
        return score, False
    t = (score - k.mean()) / (k.std(ddof=1) * np.sqrt(1 + 1 / k.size))
    return score, bool(stats.t.sf(t, k.size - 1) < 0.05)


def _raw(ctx: PeerContext) -> tuple[float, bool]:
    score = raw_closeness(ctx.store, ctx.reference, ctx.suspect, ctx.prompt_ids)
    panel = [raw_closeness(ctx.store, ctx.reference, m, ctx.prompt_ids) for m in ctx.panel]
    top = max((x for x in panel if np.isfinite(x)), default=np.inf)
    return score, bool(np.isfinite(score) and score > top)


def _panelz(ctx: PeerContext) -> tuple[float, bool]:
    score = panel_z(ctx.store, ctx.reference, ctx.suspect, ctx.panel, ctx.prompt_ids)
    return score, bool(np.isfinite(score) and score > 1.6449)


def _classifier(ctx: PeerContext) -> tuple[float, bool]:
    score = classifier_score(
        ctx.store, ctx.reference, ctx.suspect, ctx.panel, ctx.prompt_ids, rng=ctx.rng, cache=ctx.cache
    )
    return score, bool(np.isfinite(score) and score > 0.5)


@dataclass(frozen=True)
class Peer:
    """A peer method: (score, declares "distilled") for a pair, and its threshold in words."""

    name: str
    title: str
    run: Callable[[PeerContext], tuple[float, bool]]
    threshold_text: str


PEERS: dict[str, Peer] = {
    "raw": Peer("raw", "raw mean cosine", _raw, "closer to R than every panel member"),
    "panelz": Peer("panelz", "panel z-score", _panelz, "z > 1.645 (one-sided 5% under a normal panel)"),
    "classifier": Peer("classifier", "idiosyncrasies classifier", _classifier, "mean P(R) > 0.5"),
    "lexcontrast": Peer(
        "lexcontrast",
        "lexical contrast",
        _lexical_contrast_score,
        "one-draw t-test against the independent models, p < 0.05",
    ),
}
