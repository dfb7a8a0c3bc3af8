"""Content features on sampled prompts of the accounts the cheap stage points at.

Lexical: TF-IDF (hashed word 1-2-grams, sublinear tf) gives each account's narrowness (mean
pairwise cosine of its distinct prompts) and a centred centroid whose cosine with another account's
says whether both draw on the same prompt source. MinHash/LSH (``datasketch``) finds near-duplicate
and templated prompts within and across accounts. Embeddings (all-MiniLM-L6-v2, offline) give the
published detector's test: an MMD between an account's prompts and a reference sample, with a
permutation p-value.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH
from scipy import sparse, stats
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from forensics.traffic.features import COT_CUES

_WORD = re.compile(r"\w+", re.U)
NUM_PERM = 64
NEAR_DUP_JACCARD = 0.6
SHINGLE = 3
TFIDF_CHARS = 4000  # a prompt's first characters are enough to say what kind of task it is


@dataclass(frozen=True)
class ContentFeatures:
    """Per-account content features and the cross-account links they imply."""

    narrowness: dict[str, float]
    template_share: dict[str, float]
    near_dup_pairs: dict[tuple[str, str], int]
    similar_pairs: dict[tuple[str, str], float]
    similarity_threshold: float


def _vectoriser() -> HashingVectorizer:
    return HashingVectorizer(n_features=2**18, ngram_range=(1, 2), alternate_sign=False, norm=None)


_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")


def task_text(prompt: str) -> str:
    """The prompt without its chain-of-thought demand: a wrapper many harvesters share, not the task."""
    cut = prompt[:TFIDF_CHARS]
    if not COT_CUES.search(cut):
        return cut
    return "".join(s for s in _SENTENCE.findall(cut) if not COT_CUES.search(s)) or cut


def tfidf(prompts: list[str]) -> sparse.csr_matrix:
    hv = _vectoriser()
    counts = hv.transform([task_text(p) for p in prompts])
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsr()


def mean_pairwise_cosine(x: sparse.csr_matrix) -> float:
    """Unbiased mean cosine over distinct pairs of unit rows (NaN below 3 rows)."""
    m = x.shape[0]
    if m < 3:
        return float("nan")
    s = np.asarray(x.sum(axis=0)).ravel()
    total = float(s @ s)
    diag = float(x.multiply(x).sum())
    return (total - diag) / (m * (m - 1))


def minhashes(prompts: list[str]) -> list[MinHash]:
    shingles = []
    for p in prompts:
        words = _WORD.findall(task_text(p).lower())
        grams = {" ".join(words[i : i + SHINGLE]).encode() for i in range(max(1, len(words) - SHINGLE + 1))}
        shingles.append(list(grams) or [b""])
    return MinHash.bulk(shingles, num_perm=NUM_PERM)


def content_features(sample: pd.DataFrame, min_prompts: int = 5) -> ContentFeatures:
    """Narrowness, template share, near-duplicate pairs and similar-source pairs of the sampled accounts."""
    sample = sample.reset_index(drop=True)
    counts = sample["account_id"].value_counts()
    keep = counts[counts >= min_prompts].index
    sample = sample[sample["account_id"].isin(keep)].reset_index(drop=True)
    if sample.empty:
        return ContentFeatures({}, {}, {}, {}, float("nan"))
    x = tfidf(sample["prompt"].tolist())
    accounts = list(dict.fromkeys(sample["account_id"]))
    index = {a: i for i, a in enumerate(accounts)}
    rows = sample["account_id"].map(index).to_numpy()
    narrowness = {}
    member = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(accounts), len(rows)))
    for a in accounts:
        narrowness[a] = mean_pairwise_cosine(x[np.flatnonzero(rows == index[a])])
    sizes = np.asarray(member.sum(axis=1)).ravel()
    centroid = (sparse.diags(1 / sizes) @ member @ x).tocsr()
    similar, threshold = similar_sources(centroid, accounts)
    hashes = minhashes(sample["prompt"].tolist())
    lsh = MinHashLSH(threshold=NEAR_DUP_JACCARD, num_perm=NUM_PERM)
    for i, h in enumerate(hashes):
        lsh.insert(i, h)
    has_twin = np.zeros(len(sample), dtype=bool)
    cross: dict[tuple[str, str], int] = defaultdict(int)
    acct = sample["account_id"].to_numpy()
    for i, h in enumerate(hashes):
        for j in lsh.query(h):
            if j <= i:
                continue
            if acct[i] == acct[j]:
                has_twin[i] = has_twin[j] = True
            else:
                cross[tuple(sorted((acct[i], acct[j])))] += 1
    template = pd.Series(has_twin).groupby(acct).mean().to_dict()
    return ContentFeatures(narrowness, template, dict(cross), similar, threshold)


def similar_sources(centroid: sparse.csr_matrix, accounts: list[str]) -> tuple[dict[tuple[str, str], float], float]:
    """Pairs of accounts whose centred centroids are closer than chance allows over all pairs.

    Centroids are centred on the mean of account centroids (each account once), and each pair's cosine
    is a robust z against both accounts' own rows (median and MAD of their cosines to everyone else),
    so a large campaign neither drags the centre nor widens everyone's spread. The cut is the normal
    quantile of 1/P for P pairs: about one chance link per scan.
    """
    k = len(accounts)
    if k < 5:
        return {}, float("inf")
    mu = np.asarray(centroid.mean(axis=0)).ravel()
    gram = (centroid @ centroid.T).toarray()
    v = centroid @ mu
    centred = gram - v[:, None] - v[None, :] + float(mu @ mu)
    norms = np.sqrt(np.clip(np.diag(centred), 1e-12, None))
    cos = centred / np.outer(norms, norms)
    np.fill_diagonal(cos, np.nan)
    med = np.nanmedian(cos, axis=1)
    mad = np.maximum(stats.median_abs_deviation(cos, axis=1, nan_policy="omit", scale="normal"), 1e-6)
    z = np.minimum((cos - med[:, None]) / mad[:, None], (cos - med[None, :]) / mad[None, :])
    threshold = float(stats.norm.isf(1.0 / (k * (k - 1) / 2)))
    found = np.triu(np.nan_to_num(z, nan=-np.inf) > threshold, 1)
    return {(accounts[i], accounts[j]): float(cos[i, j]) for i, j in zip(*np.nonzero(found))}, threshold


def group_narrowness(
    sample: pd.DataFrame, groups: dict[str, list[str]], per_group: int = 96, rng: np.random.Generator | None = None
) -> dict[str, float]:
    """Narrowness of each group's pooled prompt sample (at most ``per_group`` prompts, spread over members)."""
    rng = rng or np.random.default_rng(0)
    out = {}
    by_account = {a: g for a, g in sample.groupby("account_id")}
    for gid, members in groups.items():
        parts = [by_account[a] for a in members if a in by_account]
        if not parts:
            continue
        pool = pd.concat(parts).drop_duplicates("phash")
        if len(pool) > per_group:
            pool = pool.iloc[rng.choice(len(pool), per_group, replace=False)]
        if len(pool) >= 3:
            out[gid] = mean_pairwise_cosine(tfidf(pool["prompt"].tolist()))
    return out


@dataclass(frozen=True)
class MMDResult:
    """An account's MMD² against the reference sample, its permutation p-value and the draws used."""

    account: str
    mmd2: float
    p_value: float
    n_account: int
    n_reference: int
    permutations: int


def _mmd2(k: np.ndarray, m: int) -> float:
    """Unbiased MMD² from a joint kernel matrix whose first ``m`` rows are sample X."""
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    n = k.shape[0] - m
    return (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()


def mmd_test(x: np.ndarray, y: np.ndarray, *, rng: np.random.Generator, permutations: int = 200) -> tuple[float, float]:
    """MMD² (Gaussian kernel, median-heuristic bandwidth) of X against Y, with a permutation p-value."""
    z = np.vstack([x, y]).astype(np.float64)
    sq = np.clip((z * z).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2 * z @ z.T, 0, None)
    bandwidth = np.median(sq[np.triu_indices(len(z), 1)]) or 1.0
    k = np.exp(-sq / bandwidth)
    m = len(x)
    observed = _mmd2(k, m)
    exceed = 0
    for _ in range(permutations):
        perm = rng.permutation(len(z))
        exceed += _mmd2(k[np.ix_(perm, perm)], m) >= observed
    return float(observed), (exceed + 1) / (permutations + 1)


def mmd_accounts(
    sample: pd.DataFrame,
    accounts: list[str],
    reference_prompts: list[str],
    embedder,
    *,
    rng: np.random.Generator,
    per_account: int = 16,
    permutations: int = 200,
) -> list[MMDResult]:
    """The published detector's test for each named account: its prompts against the reference prompts."""
    if not accounts or len(reference_prompts) < 10:
        return []
    ref = embedder.embed(reference_prompts)
    results = []
    for a in accounts:
        prompts = sample.loc[sample["account_id"] == a, "prompt"].tolist()[:per_account]
        if len(prompts) < 5:
            continue
        x = embedder.embed(prompts)
        mmd2, p = mmd_test(x, ref, rng=rng, permutations=permutations)
        results.append(MMDResult(a, mmd2, p, len(prompts), len(ref), permutations))
    return results
