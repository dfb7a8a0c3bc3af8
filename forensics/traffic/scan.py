"""``scan``: from a request log to scored accounts, flagged accounts and campaigns, with the calibration stated.

Stages: (1) cheap features on every row and per-account reductions on Dask; (2) a first score
without content, which points at the candidate accounts; (3) a filtered second read of only
those accounts' prompts for content features (TF-IDF narrowness, MinHash near-duplicates,
same-source nearest-neighbour links); (4) the calibrated account score; (5) the coordination graph
and its components, each scored by two tests (pooled counts; the median of its members' own
scores); accounts whose prompts tie them to a flagged campaign join it; (6) optionally the
embedding MMD test of each flagged campaign's prompts, within a text budget (reported, not scored).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forensics.traffic.aggregate import AccountTables, aggregate, dask_scheduler, sample_prompts
from forensics.traffic.content import (
    ContentFeatures,
    MMDResult,
    account_narrowness,
    content_features,
    group_narrowness,
    mmd_campaigns,
)
from forensics.traffic.graph import Graph, build_graph, join_by_content
from forensics.traffic.reading import log_files
from forensics.traffic.schema import ColumnMapping
from forensics.traffic.scoring import INDICATORS, MIN_ACTIVE, Calibration, Scorer, pooled

MIN_DISTINCT_FOR_CONTENT = 5
REFERENCE_SAMPLE = 50_000
REFERENCE_CONTENT_ACCOUNTS = 1000  # active accounts of a reference log whose prompts are sampled for narrowness
FIRED_Z = 2.0  # an indicator "fires" for a campaign when its normal score is above this
MEMBER_FLOOR = 1.0  # the members test needs the typical member one robust SD above the typical account
MEMBER_MIN = 3  # and a median of at least three accounts
CONTENT_LINKS = {"near_duplicate_prompts", "same_prompt_source"}
MMD_PROMPTS = 32  # prompts per campaign in the embedding MMD test, spread over its accounts


def campaign_prompts(sample: pd.DataFrame, accounts, limit: int) -> list[str]:
    """Up to ``limit`` sampled prompts of a campaign, taken in turn from each account (smallest hashes first)."""
    s = sample[sample["account_id"].isin(set(accounts))].sort_values(["account_id", "phash"])
    s = s.assign(turn=s.groupby("account_id").cumcount()).sort_values(["turn", "account_id"], kind="stable")
    return s["prompt"].head(limit).tolist()


def own_evidence(account_z: pd.Series, graph: Graph, group_of: dict[str, str]) -> pd.Series:
    """Whether each account carries evidence of its own inside its component: its own z at least
    ``MEMBER_FLOOR``, or a content link (near-duplicates, same prompt source) to another member. A
    component's score reaches only these members: an account tied to a campaign by a shared org, network
    or timing alone (a colleague behind the same egress as a harvesting account) keeps its own score."""
    linked: set[str] = set()
    for (a, b), kinds in graph.edges.items():
        if kinds & CONTENT_LINKS and group_of.get(a) is not None and group_of.get(a) == group_of.get(b):
            linked.update((a, b))
    return (account_z >= MEMBER_FLOOR) | account_z.index.isin(list(linked))


def member_test(z: pd.Series) -> float:
    """A component's members test: the median of its members' own robust z, as a z of its own under the null
    that the members are any accounts (the median of k normal scores has SD 1.2533/sqrt(k)). A campaign of
    many accounts that each look mild stands out here, where pooling its counts might not. NaN below
    ``MEMBER_MIN`` members, or when the typical member is below ``MEMBER_FLOOR``: with many members any small
    shift is significant, so a large benign group (an enterprise behind one egress) needs an effect, not
    only a p-value."""
    z = z.dropna()
    median = float(z.median()) if len(z) else float("nan")
    if len(z) < MEMBER_MIN or not median >= MEMBER_FLOOR:
        return float("nan")
    return median * float(np.sqrt(len(z))) / 1.2533


@dataclass(frozen=True)
class Campaign:
    """A flagged group of accounts (one account or a coordination component) and the evidence for it."""

    id: str
    accounts: tuple[str, ...]
    score: float
    tests: dict[str, float]
    member_median_z: float
    requests: int
    harvest_requests: int
    distinct_prompts: int
    first_ms: int
    last_ms: int
    indicators: dict[str, float]
    fired: tuple[str, ...]
    links: dict[str, int]


@dataclass(frozen=True)
class ScanResult:
    """Everything a scan decided and why: scores, flags, campaigns, calibration, and what was read."""

    log: str
    files: tuple[str, ...]
    scores: pd.Series
    flagged: tuple[str, ...]
    campaigns: tuple[Campaign, ...]
    calibration: Calibration
    accounts: pd.DataFrame = field(repr=False)
    tables: AccountTables = field(repr=False)
    sample: pd.DataFrame = field(repr=False)
    content: ContentFeatures = field(repr=False)
    graph: Graph = field(repr=False)
    mmd: tuple[MMDResult, ...] = ()
    stage_seconds: dict[str, float] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def campaign_of(self) -> dict[str, str]:
        return {a: c.id for c in self.campaigns for a in c.accounts}

    def detections(self) -> dict:
        """The ``detections.json`` object the judge reads."""
        return {
            "accounts": {a: round(float(s), 6) for a, s in self.scores.items()},
            "flagged": list(self.flagged),
            "campaigns": self.campaign_of,
        }


def _reference(acc: pd.DataFrame, min_active: int, rng: np.random.Generator) -> pd.DataFrame:
    active = acc[acc["n"] >= min_active]
    if len(active) > REFERENCE_SAMPLE:
        active = active.iloc[np.sort(rng.choice(len(active), REFERENCE_SAMPLE, replace=False))]
    return active


def scan(
    log,
    *,
    fpr: float = 1e-3,
    mapping: ColumnMapping | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    reference_log: Path | str | None = None,
    max_candidates: int = 3000,
    per_account: int = 48,
    embed_budget: int = 0,
    embedder=None,
    rng: np.random.Generator,
) -> ScanResult:
    """Scan a request log (a Parquet/JSONL file or folder, or a list of them) for extraction campaigns."""
    mapping = mapping or ColumnMapping()
    files = log_files(log)
    if not files:
        raise FileNotFoundError(f"{log}: no Parquet or JSONL files in this log folder")
    seconds: dict[str, float] = {}
    with dask_scheduler(scheduler, workers) as scheduler_name:
        tables = aggregate(files, mapping)
        seconds["cheap features and aggregation"] = tables.seconds
        ref_tables = None
        if reference_log is not None:
            started = time.monotonic()
            ref_tables = reference_tables(log_files(reference_log), mapping, per_account, rng=rng)
            seconds["reference log (aggregation and content sample)"] = time.monotonic() - started
        started = time.monotonic()
        candidates, extra = pick_candidates(tables, ref_tables, fpr, max_candidates, rng=rng)
        sample = sample_prompts(files, mapping, candidates + extra, per_account)
        seconds["content sample (second, filtered read)"] = time.monotonic() - started
    settings = {
        "fpr": fpr,
        "scheduler": scheduler_name,
        "column_mapping": mapping.source,
        "reference_log": str(reference_log) if reference_log else None,
        "max_candidates": max_candidates,
        "prompts_per_account": per_account,
        "embed_budget": embed_budget,
    }
    return decide(
        log,
        tables,
        sample,
        candidates,
        fpr=fpr,
        ref_tables=ref_tables,
        embed_budget=embed_budget,
        embedder=embedder,
        seconds=seconds,
        settings=settings,
        rng=rng,
    )


def reference_tables(
    files: list[Path], mapping: ColumnMapping, per_account: int, *, rng: np.random.Generator
) -> AccountTables:
    """The cheap stage of an earlier-period log, with the narrowness of a random sample of its active accounts,
    so every indicator of the score (content included) has a reference."""
    tables = aggregate(files, mapping)
    acc = tables.accounts
    pool = acc.index[(acc["n"] >= MIN_ACTIVE) & (acc["distinct"] >= MIN_DISTINCT_FOR_CONTENT)]
    chosen = sorted(rng.permutation(np.asarray(pool))[:REFERENCE_CONTENT_ACCOUNTS].tolist()) if len(pool) else []
    narrowness = account_narrowness(sample_prompts(files, mapping, chosen, per_account), MIN_DISTINCT_FOR_CONTENT)
    tables.accounts = acc.assign(narrowness=pd.Series(narrowness, dtype=float).reindex(acc.index))
    return tables


def pick_candidates(
    tables: AccountTables,
    ref_tables: AccountTables | None,
    fpr: float,
    max_candidates: int,
    *,
    rng: np.random.Generator,
) -> tuple[list[str], list[str]]:
    """The accounts whose prompts the content stage reads: the top of the cheap score (no content yet),
    plus a random sample of other active accounts so the content indicators have a reference."""
    acc = tables.accounts
    base = _reference((ref_tables or tables).accounts, MIN_ACTIVE, rng)
    cheap = Scorer(base, fpr, "cheap stage").z(acc)
    eligible = acc.index[acc["distinct"] >= MIN_DISTINCT_FOR_CONTENT]
    candidates = list(cheap.loc[eligible].sort_values(ascending=False, kind="stable").index[:max_candidates])
    chosen, eligible_set = set(candidates), set(eligible)
    pool = [a for a in base.index if a in eligible_set and a not in chosen]
    extra = sorted(rng.permutation(pool)[:500].tolist()) if pool else []
    return candidates, extra


def decide(
    log,
    tables: AccountTables,
    sample: pd.DataFrame,
    candidates: list[str],
    *,
    fpr: float,
    ref_tables: AccountTables | None = None,
    embed_budget: int = 0,
    embedder=None,
    seconds: dict | None = None,
    settings: dict | None = None,
    rng: np.random.Generator,
) -> ScanResult:
    """Everything after reading: content features, graph, calibrated scores, flags and campaigns."""
    seconds = dict(seconds or {})
    acc = tables.accounts.copy()
    ref_acc, description = None, ""
    if ref_tables is not None:
        ref_acc = _reference(ref_tables.accounts, MIN_ACTIVE, rng)
        with_content = int(ref_tables.accounts.get("narrowness", pd.Series(dtype=float)).notna().sum())
        description = (
            f"the earlier-period log ({ref_tables.n_rows} rows; its active accounts, the prompts of {with_content} "
            "of them sampled for narrowness)"
        )
    started = time.monotonic()
    content = content_features(sample, MIN_DISTINCT_FOR_CONTENT, rng=rng)
    acc["narrowness"] = pd.Series(content.narrowness).reindex(acc.index)
    acc["template_share"] = pd.Series(content.template_share).reindex(acc.index)
    seconds["content features"] = time.monotonic() - started
    started = time.monotonic()
    graph = build_graph(acc, tables.tokens, tables.days, content, candidates)
    comps = {f"g{i}": members for i, members in enumerate(graph.components())}
    group_of = {a: gid for gid, members in comps.items() for a in members}
    # the components of content links alone: a prompt source shared by accounts that infrastructure also
    # ties to other people (a harvester on a carrier NAT) is tested on its own as well
    whole = {tuple(m) for m in comps.values()}
    sources = [m for m in graph.components(kinds=CONTENT_LINKS) if tuple(m) not in whole]
    sources = {f"s{i}": members for i, members in enumerate(sources)}
    source_of = {a: sid for sid, members in sources.items() for a in members}
    groups = {**comps, **sources}
    group_acc = pooled(acc, groups, group_narrowness(sample, groups, rng=rng))
    if ref_acc is None:
        singles = acc.loc[[a for a in acc.index if a not in group_of]]
        actors = pd.concat([singles, group_acc.loc[list(comps)]]) if len(comps) else singles
        ref_acc = _reference(actors, MIN_ACTIVE, rng)
        description = "this log's own active actors (accounts, and coordination components pooled), unlabelled"
    eligible = int(((acc["n"] >= MIN_ACTIVE) | acc.index.isin(list(group_of))).sum())
    scorer = Scorer(
        ref_acc if "narrowness" in ref_acc else ref_acc.assign(narrowness=np.nan),
        fpr,
        description,
        accounts=len(acc),
        eligible=eligible,
    )
    account_z = scorer.z(acc)
    indicator_z = scorer.indicator_z(acc)
    pooled_z = scorer.z(group_acc) if len(group_acc) else pd.Series(dtype=float)
    group_ind = scorer.indicator_z(group_acc) if len(group_acc) else pd.DataFrame()
    members_z = pd.Series({gid: member_test(account_z[m]) for gid, m in groups.items()}, dtype=float)
    group_z = pd.concat([pooled_z, members_z], axis=1).max(axis=1) if len(groups) else pd.Series(dtype=float)
    carries = own_evidence(account_z, graph, group_of)
    final = account_z.copy()
    for gid, members in groups.items():
        members = [m for m in members if carries[m]]
        final.loc[members] = np.maximum(final.loc[members], group_z[gid])
    threshold = scorer.calibration.threshold

    def group_score(of: dict[str, str]) -> pd.Series:
        return pd.Series(group_z.reindex([of.get(a) for a in acc.index]).to_numpy(), index=acc.index)

    in_group = np.maximum(group_score(group_of).fillna(-np.inf), group_score(source_of).fillna(-np.inf))
    can_flag = ((acc["n"] >= MIN_ACTIVE) & (account_z > threshold)) | ((in_group > threshold) & carries)
    flagged = sorted(acc.index[can_flag.to_numpy()])
    seconds["coordination graph and scoring"] = time.monotonic() - started
    campaigns = []
    flagged_groups: dict[str, list[str]] = {}
    for a in flagged:
        # the most specific flagged group: the account's prompt source, then its whole component
        key = next(
            (g for g in (source_of.get(a), group_of.get(a)) if g is not None and group_z[g] > threshold), f"a:{a}"
        )
        flagged_groups.setdefault(key, []).append(a)
    if content.source_hits is not None and flagged_groups:
        keys = list(flagged_groups)
        for account, j in join_by_content(graph, content.source_hits, [flagged_groups[k] for k in keys]).items():
            key = keys[j]
            flagged_groups[key].append(account)
            final[account] = max(final[account], account_z[key[2:]] if key.startswith("a:") else group_z[key])
        flagged = sorted(a for members in flagged_groups.values() for a in members)
    for key, members in flagged_groups.items():
        a = acc.loc[members]
        if key.startswith("a:"):
            z, ind = float(account_z[key[2:]]), indicator_z.loc[key[2:]]
            tests = {"account": z}
        else:
            z, ind = float(group_z[key]), group_ind.loc[key]
            tests = {"pooled": float(pooled_z[key]), "members": float(members_z[key])}
        tests = {k: round(v, 3) for k, v in tests.items() if np.isfinite(v)}
        fired = [k for k in INDICATORS if ind[k] > FIRED_Z]
        if tests.get("members", -np.inf) > threshold:
            fired.append("members")
        campaigns.append(
            dict(
                accounts=tuple(sorted(members)),
                score=z,
                tests=tests,
                member_median_z=round(float(account_z[members].median()), 3),
                requests=int(a["n"].sum()),
                harvest_requests=int(a["harvest"].sum()),
                distinct_prompts=int(a["distinct"].sum()),
                first_ms=int(a["first_ms"].min()),
                last_ms=int(a["last_ms"].max()),
                indicators={k: round(float(ind[k]), 3) for k in INDICATORS},
                fired=tuple(fired),
                links=graph.evidence(list(members)),
            )
        )
    campaigns.sort(key=lambda c: (-c["harvest_requests"], c["accounts"][0]))
    campaigns = tuple(Campaign(id=f"C{i + 1:03d}", **c) for i, c in enumerate(campaigns))
    mmd: list[MMDResult] = []
    if embed_budget > 0 and campaigns:
        started = time.monotonic()
        reference = sample[~sample["account_id"].isin(set(flagged))]
        reference = reference.iloc[rng.permutation(len(reference))[: min(400, embed_budget // 2)]]
        budget = campaigns[: max(0, (embed_budget - len(reference)) // MMD_PROMPTS)]
        try:
            if embedder is None:
                from forensics.features import quiet_embedder

                embedder = quiet_embedder()
            mmd = mmd_campaigns(
                {c.id: campaign_prompts(sample, c.accounts, MMD_PROMPTS) for c in budget},
                reference["prompt"].tolist(),
                embedder,
                rng=rng,
            )
        except (ImportError, OSError, RuntimeError, ValueError) as exc:  # an optional, reported-only stage
            settings = {**(settings or {}), "mmd_error": f"{type(exc).__name__}: {exc}"}
        seconds["embedding MMD test"] = time.monotonic() - started
    return ScanResult(
        log=str(log) if not isinstance(log, (list, tuple)) else ", ".join(map(str, log)),
        files=tuple(tables.files),
        scores=final.sort_index(),
        flagged=tuple(flagged),
        campaigns=campaigns,
        calibration=scorer.calibration,
        accounts=acc.assign(
            account_z=account_z, final_z=final, group=pd.Series(group_of), source_group=pd.Series(source_of)
        ),
        tables=tables,
        sample=sample,
        content=content,
        graph=graph,
        mmd=tuple(mmd),
        stage_seconds=seconds,
        settings=dict(settings or {}),
    )
