"""Content features on sampled prompts of the accounts the cheap stage points at.

Lexical: TF-IDF (hashed word 1-2-grams, sublinear tf) gives each account's narrowness (mean
pairwise cosine of the closer half of its distinct prompts) and, through each prompt's nearest
prompts of other accounts, whether two accounts draw on the same prompt source (``SourceHits``).
MinHash/LSH (``datasketch``) finds near-duplicate and templated prompts within and across
accounts. Embeddings (all-MiniLM-L6-v2, offline) give the published detector's test: an MMD
between a campaign's prompts and a reference sample, with a permutation p-value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH
from scipy import sparse, stats
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from forensics.traffic.features import COT_CUES

_WORD = re.compile(r"\w+", re.U)
NUM_PERM = 64
NEAR_DUP_JACCARD = 0.6
MIN_SHARED = 2  # near-duplicate prompts two accounts must share before the graph looks at the pair
SHINGLE = 3
TFIDF_CHARS = 4000  # a prompt's first characters are enough to say what kind of task it is
CORE_SHARE = 0.5  # narrowness is measured on the half of an account's prompts closest to the rest
SVD_DIMS = 128
KNN = 10
LINK_ALPHA = 0.01  # expected chance same-source links per scan


@dataclass(frozen=True)
class ContentFeatures:
    """Per-account content features and the cross-account links they imply."""

    narrowness: dict[str, float]
    template_share: dict[str, float]
    near_dup_pairs: dict[tuple[str, str], int]  # pair -> prompts with a near-duplicate in the other (fewer side)
    source_pairs: dict[tuple[str, str], dict]
    source_link_cut: float
    source_hits: SourceHits | None = None
    sampled: dict[str, int] = field(default_factory=dict)  # distinct prompts sampled per account


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


def mean_pairwise_cosine(x: sparse.csr_matrix, core: float = CORE_SHARE) -> float:
    """Mean cosine over distinct pairs of unit rows, among the ``core`` share of rows closest to the others
    (NaN below 3 rows). The core is what camouflage cannot dilute: an account that mixes a narrow harvest
    1:1 with ordinary chat keeps the harvest half's narrowness, while broad traffic stays broad in any half."""
    m = x.shape[0]
    if m < 3:
        return float("nan")
    if core < 1:
        gram = (x @ x.T).toarray()
        np.fill_diagonal(gram, 0.0)
        keep = np.argsort(-gram.sum(axis=1), kind="stable")[: max(3, int(np.ceil(core * m)))]
        sub = gram[np.ix_(keep, keep)]
        return float(sub.sum() / (len(keep) * (len(keep) - 1)))
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


def content_features(sample: pd.DataFrame, min_prompts: int = 5, *, rng: np.random.Generator) -> ContentFeatures:
    """Narrowness, template share, near-duplicate pairs and same-source pairs of the sampled accounts."""
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
    narrowness = {a: mean_pairwise_cosine(x[np.flatnonzero(rows == index[a])]) for a in accounts}
    hits = SourceHits.from_prompts(reduce_tfidf(x, rng=rng), rows, accounts)
    similar, cut = hits.pairs()
    template, cross = near_duplicates(minhashes(sample["prompt"].tolist()), rows, accounts)
    sampled = {a: int(c) for a, c in sample["account_id"].value_counts().items()}
    return ContentFeatures(narrowness, template, cross, similar, cut, hits, sampled)


def near_duplicates(
    hashes: list[MinHash], rows: np.ndarray, accounts: list[str]
) -> tuple[dict[str, float], dict[tuple[str, str], int]]:
    """Each account's share of prompts with a near-duplicate of its own (template repetition), and for each
    pair of accounts the prompts of the fewer side that have a near-duplicate in the other (kept from
    ``MIN_SHARED`` up: the graph needs at least that many).

    Sparse products, not a loop over pairs of prompts: a text that a thousand accounts send makes a
    million pairs of accounts, which a dict of sets cannot hold at provider scale (docs/methods.md)."""
    n, m = len(hashes), len(accounts)
    lsh = MinHashLSH(threshold=NEAR_DUP_JACCARD, num_perm=NUM_PERM)
    for i, h in enumerate(hashes):
        lsh.insert(i, h)
    rows = np.asarray(rows, dtype=np.int32)
    twin = np.zeros(n, dtype=bool)
    prompt_of, other = [], []  # prompt i has a near-duplicate in account b: one entry per (i, b)
    for i, h in enumerate(hashes):
        found = np.fromiter(lsh.query(h), dtype=np.int64)
        found = rows[found[found != i]]
        twin[i] = bool((found == rows[i]).any())
        found = np.unique(found[found != rows[i]])
        prompt_of.append(np.full(len(found), i, dtype=np.int32))
        other.append(found)
    prompt_of, other = (np.concatenate(x) if x else np.zeros(0, dtype=np.int32) for x in (prompt_of, other))
    template = {a: float(twin[rows == k].mean()) for k, a in enumerate(accounts)}
    q = sparse.csr_matrix((np.ones(len(prompt_of), dtype=np.float32), (prompt_of, other)), shape=(n, m))
    del prompt_of, other
    owner = sparse.csr_matrix((np.ones(n, dtype=np.float32), (rows, np.arange(n))), shape=(m, n))
    shared = (owner @ q).tocsr()  # [a, b]: prompts of a with a near-duplicate in b
    coo = shared.tocoo()
    upper = coo.row < coo.col
    a, b = coo.row[upper], coo.col[upper]
    fewer = np.minimum(coo.data[upper], np.asarray(shared[b, a]).ravel())
    keep = fewer >= MIN_SHARED
    cross = {tuple(sorted((accounts[i], accounts[j]))): int(k) for i, j, k in zip(a[keep], b[keep], fewer[keep])}
    return template, cross


def account_narrowness(sample: pd.DataFrame, min_prompts: int = 5) -> dict[str, float]:
    """Narrowness of each sampled account with at least ``min_prompts`` prompts (for a reference log)."""
    counts = sample["account_id"].value_counts()
    sample = sample[sample["account_id"].isin(counts[counts >= min_prompts].index)].reset_index(drop=True)
    if sample.empty:
        return {}
    x = tfidf(sample["prompt"].tolist())
    return {a: mean_pairwise_cosine(x[idx]) for a, idx in sample.groupby("account_id").indices.items()}


def nearest_other(z: np.ndarray, rows: np.ndarray, k: int, block: int = 128) -> np.ndarray:
    """For each unit row of ``z``, the indices of its ``k`` most similar rows of *other* accounts (cosine),
    one block of rows at a time (memory: a few ``block`` × rows arrays, whatever the sample size)."""
    n = len(z)
    k = max(1, min(k, n - 1))
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        stop = min(n, start + block)
        distance = z[start:stop] @ z.T
        np.negative(distance, out=distance)
        distance[rows[start:stop, None] == rows[None, :]] = np.inf
        out[start:stop] = np.argpartition(distance, k - 1, axis=1)[:, :k]
    return out


def reduce_tfidf(x: sparse.csr_matrix, *, rng: np.random.Generator, dims: int = SVD_DIMS) -> np.ndarray:
    """Unit rows of a truncated SVD of the TF-IDF rows: dense, so neighbours are one matrix product per block."""
    dims = min(dims, x.shape[0] - 1, x.shape[1] - 1)
    svd = TruncatedSVD(n_components=max(1, dims), random_state=int(rng.integers(2**31 - 1)))
    z = svd.fit_transform(x.astype(np.float32)).astype(np.float32)
    return z / np.linalg.norm(z, axis=1, keepdims=True).clip(min=1e-9)


def _tail(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """-log10 of the Poisson tail P(H >= observed) for mean ``expected`` (0 where nothing was observed)."""
    observed = np.asarray(observed, dtype=float)
    out = -stats.poisson.logsf(observed - 1, np.maximum(expected, 1e-12)) / np.log(10)
    return np.where(observed > 0, out, 0.0)


@dataclass(frozen=True)
class SourceHits:
    """Which accounts' prompts are each other's nearest neighbours: ``hits[a, b]`` counts the prompts of
    ``a`` that have a prompt of ``b`` among their ``k`` nearest prompts of other accounts (``b`` once per
    prompt). Under the null, hits fall on accounts in proportion to how many they give and get (a
    configuration model, as in modularity), so a popular topic or a heavy account links nothing by itself.
    Each direction is tested on its own: a hub (an application many people's prompts resemble) gets hits
    from people but gives few back, while accounts fed from one prompt source give and get. A link needs
    both Poisson tails below ``alpha`` over the number of tests (about ``alpha`` chance links per scan).
    Camouflage halves an account's hits into its campaign; it does not remove them."""

    accounts: list[str]
    hits: sparse.csr_matrix
    alpha: float = LINK_ALPHA

    @classmethod
    def from_prompts(cls, z: np.ndarray, rows: np.ndarray, accounts: list[str], k: int = KNN) -> SourceHits:
        n = len(accounts)
        if n < 3 or len(z) < 3:
            return cls(accounts, sparse.csr_matrix((n, n)))
        nb = rows[nearest_other(z, rows, k)]
        nb.sort(axis=1)
        first = np.ones_like(nb, dtype=bool)
        first[:, 1:] = nb[:, 1:] != nb[:, :-1]
        first &= nb != rows[:, None]  # a tiny sample can leave only the account's own prompts as neighbours
        src = np.repeat(rows, nb.shape[1]).reshape(nb.shape)[first]
        return cls(accounts, sparse.coo_matrix((np.ones(len(src)), (src, nb[first])), shape=(n, n)).tocsr())

    def _margins(self) -> tuple[np.ndarray, np.ndarray, float]:
        given = np.asarray(self.hits.sum(axis=1)).ravel()
        got = np.asarray(self.hits.sum(axis=0)).ravel()
        return given, got, float(given.sum()) or 1.0

    def cut(self, tests: float) -> float:
        """The cut on -log10 p for ``tests`` tests."""
        return float(np.log10(max(tests, 1.0) / self.alpha))

    def pairs(self) -> tuple[dict[tuple[str, str], dict], float]:
        """Linked pairs of accounts -> {hits, expected, log10_p}, and the cut (over all pairs of accounts)."""
        n = len(self.accounts)
        cut = self.cut(n * (n - 1) / 2)
        if not self.hits.nnz:
            return {}, cut
        given, got, total = self._margins()
        both = (self.hits + self.hits.T).tocoo()
        upper = both.row < both.col
        a, b = both.row[upper], both.col[upper]
        ab, ba = np.asarray(self.hits[a, b]).ravel(), np.asarray(self.hits[b, a]).ravel()
        e_ab, e_ba = given[a] * got[b] / total, given[b] * got[a] / total
        log10_p = np.minimum(_tail(ab, e_ab), _tail(ba, e_ba))
        keep = log10_p > cut
        return {
            (self.accounts[i], self.accounts[j]): {
                "hits": int(u + v),
                "expected": round(float(e + f), 3),
                "log10_p": round(float(q), 2),
            }
            for i, j, u, v, e, f, q in zip(a[keep], b[keep], ab[keep], ba[keep], e_ab[keep], e_ba[keep], log10_p[keep])
        }, cut

    def joins(self, components: list[list[str]]) -> list[tuple[str, int, float]]:
        """Accounts outside ``components`` whose prompts tie them to one: the same two-way test between the
        account and the component taken whole, so a campaign account with too few sampled prompts to link to
        any one member still joins the campaign its prompts come from. Returns (account, component, log10 p)."""
        index = {a: i for i, a in enumerate(self.accounts)}
        comps = [[index[a] for a in c if a in index] for c in components]
        comps = [(j, c) for j, c in enumerate(comps) if c]
        if not comps or not self.hits.nnz:
            return []
        member = sparse.csr_matrix(
            (
                np.ones(sum(len(c) for _, c in comps)),
                (np.concatenate([c for _, c in comps]), np.repeat(np.arange(len(comps)), [len(c) for _, c in comps])),
            ),
            shape=(len(self.accounts), len(comps)),
        )
        outside = np.asarray(member.sum(axis=1)).ravel() == 0
        given, got, total = self._margins()
        to = (self.hits @ member).toarray()
        back = (self.hits.T @ member).toarray()
        got_c = member.T @ got
        given_c = member.T @ given
        log10_p = np.minimum(
            _tail(to, given[:, None] * got_c[None, :] / total), _tail(back, given_c[None, :] * got[:, None] / total)
        )
        cut = self.cut(outside.sum() * len(comps))
        out = []
        for i in np.flatnonzero(outside):
            j = int(np.argmax(log10_p[i]))
            if log10_p[i, j] > cut:
                out.append((self.accounts[i], comps[j][0], round(float(log10_p[i, j]), 2)))
        return out


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
    """A campaign's MMD² (its pooled prompts against the reference sample), its permutation p-value and draws."""

    campaign: str
    mmd2: float
    p_value: float
    n_prompts: int
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


def mmd_campaigns(
    prompts: dict[str, list[str]],
    reference_prompts: list[str],
    embedder,
    *,
    rng: np.random.Generator,
    permutations: int = 200,
) -> list[MMDResult]:
    """The published detector's test for each campaign: its pooled prompts against the reference prompts."""
    if not prompts or len(reference_prompts) < 10:
        return []
    ref = embedder.embed(reference_prompts)
    results = []
    for campaign, texts in prompts.items():
        if len(texts) < 5:
            continue
        mmd2, p = mmd_test(embedder.embed(texts), ref, rng=rng, permutations=permutations)
        results.append(MMDResult(campaign, mmd2, p, len(texts), len(ref), permutations))
    return results
