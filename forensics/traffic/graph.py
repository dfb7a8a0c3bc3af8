"""The coordination graph: accounts linked by evidence that one operator runs them; its components are campaigns.

Shared networks and orgs alone are normal (carrier NAT, enterprise egress, teams), so an
infrastructure link needs the same client too: accounts that share a network or an org AND send
with the same user agent AND the same dominant decoding signature are linked (a composite key,
so a proxy of 20,000 accounts costs one group, not 2·10⁸ pairs). Content links need no
infrastructure: two accounts that share near-duplicates for a fifth of their sampled prompts, or
whose prompts are each other's nearest neighbours far beyond chance (``content.SourceHits``), draw
on one prompt source.
Synchronised timing (near-identical daily activity) links accounts that also share a user agent and a
network or an org.
After scoring, an account whose prompts are tied to a whole flagged campaign (not to any one member)
joins it (:func:`join_by_content`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

MIN_NEAR_DUP_PAIRS = 2  # prompts of each account with a near-duplicate in the other
# ... and as a share of the smaller account's sampled prompts: a shared template or re-dealt prompt set,
# not two people who happen to paste the same popular text
NEAR_DUP_SHARE = 0.2
TIMING_COSINE = 0.95
MIN_TIMING_DAYS = 3


@dataclass
class Graph:
    """Edges by kind (pair -> evidence) and the components they make."""

    accounts: list[str]
    edges: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    groups: dict[str, list[str]] = field(default_factory=dict)  # composite key -> members

    def link(self, a: str, b: str, kind: str) -> None:
        if a != b:
            self.edges[tuple(sorted((a, b)))].add(kind)

    def components(self, kinds: set[str] | None = None) -> list[list[str]]:
        """Connected components with at least two accounts, largest first; with ``kinds``, of the links of
        those kinds only (no composite infrastructure groups)."""
        index = {a: i for i, a in enumerate(self.accounts)}
        rows, cols = [], []
        for members in self.groups.values() if kinds is None else ():
            first = index[members[0]]
            for m in members[1:]:
                rows.append(first), cols.append(index[m])
        for (a, b), found in self.edges.items():
            if kinds is None or found & kinds:
                rows.append(index[a]), cols.append(index[b])
        n = len(self.accounts)
        adj = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        _, labels = connected_components(adj, directed=False)
        comps = defaultdict(list)
        for a, lab in zip(self.accounts, labels):
            comps[lab].append(a)
        return sorted((sorted(c) for c in comps.values() if len(c) > 1), key=lambda c: (-len(c), c[0]))

    def evidence(self, members: list[str]) -> dict[str, int]:
        """How many links of each kind hold inside a set of accounts (composite groups count their pairs)."""
        inside = set(members)
        counts: dict[str, int] = defaultdict(int)
        for key, group in self.groups.items():
            k = sum(1 for m in group if m in inside)
            if k > 1:
                counts[key.split(":", 1)[0]] += k * (k - 1) // 2
        for (a, b), kinds in self.edges.items():
            if a in inside and b in inside:
                for kind in kinds:
                    counts[kind] += 1
        return dict(counts)


def build_graph(
    acc: pd.DataFrame, tokens: dict[str, pd.DataFrame], days: pd.DataFrame, content, candidates: list[str]
) -> Graph:
    """Link accounts by shared infrastructure + client, by content, and by synchronised timing."""
    graph = Graph(accounts=list(acc.index))
    if acc.empty:
        return graph
    ua = acc["top_ua"].fillna("?")
    client = ua + "\x1f" + acc["top_sig"].fillna("?")
    # A network is shared loosely (carrier NAT, VPN, cloud egress): it needs the client and the decoding
    # signature too. An org is a billing entity: one org running one client is one operator's doing.
    for infra, same in (("client_net", client), ("org_id", ua)):
        t = tokens[infra]
        t = t[t[infra].notna()]
        key = "infrastructure:" + infra + "=" + t[infra].astype(str) + "\x1f" + t["account_id"].map(same)
        for k, members in t.groupby(key.to_numpy())["account_id"]:
            members = sorted(set(members))
            if len(members) > 1:
                graph.groups[k] = members
    sampled = content.sampled
    for (a, b), k in content.near_dup_pairs.items():
        if k >= max(MIN_NEAR_DUP_PAIRS, NEAR_DUP_SHARE * min(sampled.get(a, 0), sampled.get(b, 0))):
            graph.link(a, b, "near_duplicate_prompts")
    for a, b in content.source_pairs:
        graph.link(a, b, "same_prompt_source")
    _timing_links(graph, acc, days, candidates, tokens)
    return graph


def join_by_content(graph: Graph, hits, groups: list[list[str]]) -> dict[str, int]:
    """Accounts whose prompts tie them to one of ``groups`` taken whole (``SourceHits.joins``): each is linked
    to the members it shares neighbours with. Returns account -> index of the group it joins."""
    index = {a: i for i, a in enumerate(hits.accounts)}
    both = (hits.hits + hits.hits.T).tocsr()
    joined = {}
    for account, j, _ in hits.joins(groups):
        row = both.getrow(index[account])
        for m in groups[j]:
            if m in index and row[0, index[m]] > 0:
                graph.link(account, m, "same_prompt_source")
        joined[account] = j
    return joined


def _timing_links(
    graph: Graph, acc: pd.DataFrame, days: pd.DataFrame, candidates: list[str], tokens: dict[str, pd.DataFrame]
) -> None:
    """Near-identical daily activity links two accounts that also share a user agent and a network or an org:
    steady people behind one office egress can move in step too, so timing only strengthens shared
    infrastructure (where the decoding signatures differ), it never links strangers."""
    cand = [a for a in candidates if acc.at[a, "active_days"] >= MIN_TIMING_DAYS]
    if len(cand) < 2:
        return
    d = days[days["account_id"].isin(cand)]
    table = d.pivot_table(index="account_id", columns="day", values="c", aggfunc="sum", fill_value=0).reindex(cand)
    x = np.array(table.to_numpy(dtype=float), copy=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-12)
    cos = x @ x.T
    ua = acc.loc[cand, "top_ua"].to_numpy()
    chosen = set(cand)
    places: dict[str, set] = defaultdict(set)
    for name in ("client_net", "org_id"):
        t = tokens[name]
        t = t[t["account_id"].isin(chosen) & t[name].notna()]
        for a, v in zip(t["account_id"], t[name]):
            places[a].add((name, v))
    for i, j in zip(*np.nonzero(np.triu(cos >= TIMING_COSINE, 1))):
        if ua[i] == ua[j] and places[cand[i]] & places[cand[j]]:
            graph.link(cand[i], cand[j], "synchronised_timing")
