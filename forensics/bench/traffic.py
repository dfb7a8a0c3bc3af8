"""``forensics bench traffic``: the scan and two simple peers scored against a traffic truth file.

The truth file is read here and nowhere else: the scan and the peers decide from the log alone.
Metrics follow the benchmark's README: account AUC (ties half), TPR at FPR 0.1% and 1% (threshold
at the (k+1)-th highest benign score, detection strictly above it), TPR/FPR at the method's own
decision, benign-application false flags, harvest caught, campaigns caught (>= half of a
campaign's harvest from flagged accounts) and the adjusted Rand index of the grouping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from forensics.traffic import ScanResult, scan
from forensics.traffic.content import mmd_test


@dataclass(frozen=True)
class Detections:
    """One method's output in the judge's format."""

    method: str
    scores: dict[str, float]
    flagged: tuple[str, ...]
    campaigns: dict[str, str]


@dataclass(frozen=True)
class TrafficMetrics:
    """The judge's figures for one method on one log."""

    method: str
    auc: float
    tpr_at: dict[float, tuple[float, float]]  # FPR target -> (TPR, FPR reached)
    flagged_tpr: float
    flagged_fpr: float
    app_false_flags: int
    n_apps: int
    user_false_flags: int
    harvest_caught: float
    campaigns_caught: int
    n_campaigns: int
    caught: tuple[str, ...]
    ari: float
    benign_in_attack_clusters: int

    def summary(self) -> str:
        return (
            f"SUMMARY method={self.method} auc={self.auc:.3f} tpr@0.1%={self.tpr_at[0.001][0]:.3f} "
            f"tpr@1%={self.tpr_at[0.01][0]:.3f} flagged_tpr={self.flagged_tpr:.3f} flagged_fpr={self.flagged_fpr:.4f} "
            f"app_false_flags={self.app_false_flags}/{self.n_apps} harvest={self.harvest_caught:.3f} "
            f"campaigns={self.campaigns_caught}/{self.n_campaigns} ari={self.ari:.3f}"
        )


def load_truth(path: Path | str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no truth file (expected truth.json beside the log)")
    return json.loads(path.read_text(encoding="utf-8"))


def score_detections(det: Detections, truth: dict, only: set[str] | None = None) -> TrafficMetrics:
    """The judge's metrics; ``only`` restricts attack accounts to these campaign ids (others are left out)."""
    truth = {a: t for a, t in truth.items() if t["kind"] != "attack" or only is None or t["campaign_id"] in only}
    accounts = sorted(truth)
    y = np.array([truth[a]["kind"] == "attack" for a in accounts])
    lowest = min(det.scores.values(), default=0.0) - 1.0
    s = np.array([det.scores.get(a, lowest) for a in accounts], dtype=float)
    auc = float(roc_auc_score(y, s)) if y.any() and (~y).any() else float("nan")
    benign = np.sort(s[~y])[::-1]
    tpr_at = {}
    for target in (0.001, 0.01):
        k = int(np.floor(target * len(benign)))
        cut = benign[k] if k < len(benign) else -np.inf
        tpr_at[target] = (float((s[y] > cut).mean()), float((benign > cut).mean()))
    flagged = set(det.flagged)
    f = np.array([a in flagged for a in accounts])
    kinds = np.array([truth[a]["kind"] for a in accounts])
    harvest = {a: truth[a]["harvest_requests"] for a in accounts if truth[a]["kind"] == "attack"}
    total = sum(harvest.values())
    by_campaign: dict[str, list[str]] = {}
    for a in harvest:
        by_campaign.setdefault(truth[a]["campaign_id"], []).append(a)
    caught = tuple(
        sorted(
            c
            for c, members in by_campaign.items()
            if sum(harvest[a] for a in members if a in flagged) >= 0.5 * sum(harvest[a] for a in members)
        )
    )
    attack = [a for a in accounts if truth[a]["kind"] == "attack"]
    labels = [det.campaigns.get(a, f"__own_{a}") for a in attack]
    ari = float(adjusted_rand_score([truth[a]["campaign_id"] for a in attack], labels)) if attack else float("nan")
    attack_clusters = {det.campaigns[a] for a in attack if a in det.campaigns}
    mixed = sum(1 for a in accounts if truth[a]["kind"] != "attack" and det.campaigns.get(a) in attack_clusters)
    return TrafficMetrics(
        method=det.method,
        auc=auc,
        tpr_at=tpr_at,
        flagged_tpr=float(f[y].mean()) if y.any() else float("nan"),
        flagged_fpr=float(f[~y].mean()) if (~y).any() else float("nan"),
        app_false_flags=int((f & (kinds == "benign_app")).sum()),
        n_apps=int((kinds == "benign_app").sum()),
        user_false_flags=int((f & (kinds == "benign_user")).sum()),
        harvest_caught=sum(harvest[a] for a in harvest if a in flagged) / total if total else float("nan"),
        campaigns_caught=len(caught),
        n_campaigns=len(by_campaign),
        caught=caught,
        ari=ari,
        benign_in_attack_clusters=mixed,
    )


def volume_peer(result: ScanResult, fpr: float) -> Detections:
    """Peer 1: requests per account, flagged above a robust (median + z·MAD of log volume) threshold."""
    n = result.accounts["n"]
    logn = np.log10(n)
    centre, scale = np.median(logn), stats.median_abs_deviation(logn, scale="normal") or 1.0
    z = (logn - centre) / scale
    cut = stats.norm.isf(fpr)
    return Detections("volume", z.to_dict(), tuple(sorted(z.index[z > cut])), {})


def mmd_peer(
    result: ScanResult,
    fpr: float,
    embedder,
    *,
    rng: np.random.Generator,
    window: int = 32,
    permutations: int = 100,
    max_accounts: int = 400,
) -> Detections:
    """Peer 2: the published detector's test, per account: MMD² (Gaussian kernel) of a window of the account's
    prompts against a reference sample of the traffic's prompts. Its decision uses the same calibration idea
    as the scan (robust z of the statistic over the accounts tested, cut at the normal quantile of the FPR),
    because 100 permutations cannot resolve a p-value of 1e-3; the permutation p-values are kept."""
    sample = result.sample
    counts = sample["account_id"].value_counts()
    accounts = list(counts[counts >= 5].index[:max_accounts])
    ref_pool = sample.iloc[rng.permutation(len(sample))[:300]]
    ref = embedder.embed(ref_pool["prompt"].tolist())
    scores = {}
    for a in accounts:
        x = embedder.embed(sample.loc[sample["account_id"] == a, "prompt"].tolist()[:window])
        scores[a] = mmd_test(x, ref, rng=rng, permutations=permutations)[0]
    values = np.array(list(scores.values()))
    centre = float(np.median(values)) if len(values) else 0.0
    scale = float(stats.median_abs_deviation(values, scale="normal")) if len(values) else 1.0
    cut = centre + stats.norm.isf(fpr) * (scale or 1.0)
    flagged = tuple(sorted(a for a, v in scores.items() if v > cut))
    floor = min(scores.values(), default=0.0) - 1.0
    for a in result.scores.index:
        scores.setdefault(a, floor)
    return Detections("mmd", scores, flagged, {})


def scan_detections(result: ScanResult) -> Detections:
    d = result.detections()
    return Detections("scan", d["accounts"], tuple(d["flagged"]), d["campaigns"])


def run_traffic_benchmark(
    data: Path | str,
    *,
    fpr: float = 1e-3,
    peers: tuple[str, ...] = ("volume", "mmd"),
    scheduler: str | None = None,
    embedder=None,
    rng: np.random.Generator,
    held_out: tuple[str, ...] = (),
) -> dict:
    """Scan ``data/log``, run the peers on the same read, and score everything against ``data/truth.json``."""
    data = Path(data)
    truth = load_truth(data / "truth.json")
    result = scan(data / "log", fpr=fpr, scheduler=scheduler, rng=rng)
    methods = [scan_detections(result)]
    if "volume" in peers:
        methods.append(volume_peer(result, fpr))
    if "mmd" in peers:
        if embedder is None:
            from forensics.features import quiet_embedder

            embedder = quiet_embedder()
        methods.append(mmd_peer(result, fpr, embedder, rng=rng))
    counts = result.accounts["n"]
    mismatched = sum(1 for a, t in truth.items() if int(counts.get(a, 0)) != int(t["requests"]))
    out = {"result": result, "metrics": [score_detections(m, truth) for m in methods], "count_mismatches": mismatched}
    if held_out:
        out["held_out"] = [score_detections(m, truth, set(held_out)) for m in methods]
        designed = {t["campaign_id"] for t in truth.values() if t["kind"] == "attack"} - set(held_out)
        out["designed_on"] = [score_detections(m, truth, designed) for m in methods]
    return out


def format_metrics(rows: list[TrafficMetrics], title: str = "") -> str:
    head = (
        f"{'method':<8} {'AUC':>6} {'TPR@0.1%':>9} {'(FPR)':>7} {'TPR@1%':>7} {'(FPR)':>7} {'flag TPR':>8} "
        f"{'flag FPR':>8} {'apps':>6} {'users':>5} {'harvest':>7} {'campaigns':>9} {'ARI':>6} {'mixed':>5}"
    )
    lines = [title, head] if title else [head]
    for m in rows:
        lines.append(
            f"{m.method:<8} {m.auc:>6.3f} {m.tpr_at[0.001][0]:>9.3f} {m.tpr_at[0.001][1]:>7.4f} "
            f"{m.tpr_at[0.01][0]:>7.3f} {m.tpr_at[0.01][1]:>7.4f} {m.flagged_tpr:>8.3f} {m.flagged_fpr:>8.4f} "
            f"{m.app_false_flags:>3}/{m.n_apps:<2} {m.user_false_flags:>5} {m.harvest_caught:>7.3f} "
            f"{m.campaigns_caught:>4}/{m.n_campaigns:<4} {m.ari:>6.3f} {m.benign_in_attack_clusters:>5}"
        )
    lines += [m.summary() for m in rows]
    return "\n".join(lines)
