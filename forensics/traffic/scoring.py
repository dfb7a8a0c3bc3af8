"""Harvest scores calibrated on the log's own traffic, without labels, for a declared per-account FPR.

Each indicator (``INDICATORS``) says what a harvester wants: many distinct single-turn prompts, each
asked once or twice, of one narrow kind, with long answers or answer-maximising settings. Every
indicator becomes a normal score against the *reference*: the log's own active actors, where an
actor is an account outside any coordination component, or a whole component pooled (so a campaign
of 150 accounts counts once and cannot outvote the benign population). Mid-ranks mean a few attackers
in the reference move each score by a few ranks at most. The sum of an actor's normal scores is its
raw score; its robust z against the reference is the reported score (median and normal-consistent
MAD, refitted without the actors above the threshold until stable), and the threshold is the normal
quantile of the declared FPR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

# name -> (what it measures, why a harvester shows it). The order is the report's.
INDICATORS: dict[str, tuple[str, str]] = {
    "harvest_volume": (
        "log10(1 + single-turn requests whose prompt the whole log holds at most twice)",
        "a harvester wants many answers, each once",
    ),
    "once_share": (
        "share of single-turn requests whose prompt the whole log holds at most twice",
        "applications repeat a menu, a document set or an evaluation set; harvesters do not",
    ),
    "single_turn": (
        "share of requests that are a single user turn and do not open a conversation the account goes on with",
        "harvesting needs no conversation",
    ),
    "answer_seeking": (
        "share of requests with a chain-of-thought cue + share at the model's max_tokens cap + share with n > 1",
        "harvesters ask for the longest, most explained or most varied answers",
    ),
    "long_answers": (
        "mean log10 output tokens per choice minus mean log10 input tokens",
        "a harvester wants answers much longer than its prompts (the model's knowledge), not a summary, label, "
        "translation or extraction of a long input",
    ),
    "narrowness": (
        "mean pairwise TF-IDF cosine of the account's distinct prompts (log10)",
        "a harvest covers one narrow task distribution; people and general apps ask broadly",
    ),
}
MIN_ACTIVE = 10  # requests: below this an account's indicators are shrunk towards the reference median
NEUTRAL = 0.0


def indicator_values(acc: pd.DataFrame) -> pd.DataFrame:
    """The indicator table of accounts (or pooled campaigns) from their aggregated counts."""
    n = acc["n"].clip(lower=1)
    single = acc["n_single"].clip(lower=0)
    out = pd.DataFrame(index=acc.index)
    out["harvest_volume"] = np.log10(1 + acc["harvest"])
    out["once_share"] = acc["harvest"] / single.clip(lower=1)
    out["single_turn"] = single / n
    out["answer_seeking"] = (acc["n_cot"] + acc["n_cap"] + acc["n_multi"]) / n
    out["long_answers"] = acc["log_opc"] - acc["log_inp"]
    out["narrowness"] = np.log10(acc["narrowness"].clip(lower=1e-4)) if "narrowness" in acc else np.nan
    return out


def normal_scores(values: pd.Series, reference: np.ndarray) -> pd.Series:
    """Φ⁻¹ of the mid-rank of each value among the reference values (NaN stays neutral)."""
    ref = np.sort(reference[np.isfinite(reference)])
    if len(ref) < 5:
        return pd.Series(NEUTRAL, index=values.index)
    x = values.to_numpy(dtype=float)
    below = np.searchsorted(ref, x, side="left")
    equal = np.searchsorted(ref, x, side="right") - below
    q = (below + 0.5 * equal + 0.5) / (len(ref) + 1)
    z = stats.norm.ppf(q)
    return pd.Series(np.where(np.isfinite(x), z, NEUTRAL), index=values.index)


@dataclass(frozen=True)
class Calibration:
    """What the threshold rests on: the reference, its robust centre and scale, the FPR and the cut."""

    fpr: float
    threshold: float
    reference: str
    n_reference: int
    centre: float
    scale: float
    min_active: int
    actor_fpr: float = float("nan")
    accounts: int = 0
    eligible_accounts: int = 0
    indicator_reference: dict = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        return (
            f"threshold z > {self.threshold:.2f} for a per-account FPR of {self.fpr:g}: of the {self.accounts} "
            f"accounts only the {self.eligible_accounts} with >= {self.min_active} requests or in a coordination "
            f"component can be flagged, so each of them may be flagged at rate {self.actor_fpr:.2g}; the score is the "
            f"robust z of the harvest score against {self.reference} ({self.n_reference} actors; median "
            f"{self.centre:.2f}, robust scale {self.scale:.2f})"
        )

    def to_dict(self) -> dict:
        return {
            "fpr": self.fpr,
            "actor_fpr": self.actor_fpr,
            "accounts": self.accounts,
            "eligible_accounts": self.eligible_accounts,
            "threshold_z": self.threshold,
            "reference": self.reference,
            "n_reference_actors": self.n_reference,
            "raw_score_median": self.centre,
            "raw_score_robust_scale": self.scale,
            "min_active_requests": self.min_active,
        }


def robust_location_scale(raw: np.ndarray) -> tuple[float, float]:
    """Median and normal-consistent MAD (50% breakdown: attackers, who only add mass at the top, must be
    half the reference to carry it); 1.0 when degenerate."""
    raw = raw[np.isfinite(raw)]
    if len(raw) < 3:
        return 0.0, 1.0
    centre = float(np.median(raw))
    scale = float(stats.median_abs_deviation(raw, scale="normal"))
    return centre, scale if np.isfinite(scale) and scale > 0 else 1.0


def trimmed_location_scale(raw: np.ndarray, threshold: float, rounds: int = 10) -> tuple[float, float, int]:
    """:func:`robust_location_scale`, refitted without the reference actors above the threshold until
    nothing changes: what the scan flags is not part of its own reference. Returns (centre, scale, trimmed)."""
    keep = np.isfinite(raw)
    centre, scale = robust_location_scale(raw[keep])
    for _ in range(rounds):
        below = keep & ((raw - centre) / scale <= threshold)
        if below.sum() == keep.sum() or below.sum() < 3:
            break
        keep = below
        centre, scale = robust_location_scale(raw[keep])
    return centre, scale, int(np.isfinite(raw).sum() - keep.sum())


class Scorer:
    """Normal scores per indicator and the robust z of their sum, fitted on reference accounts."""

    def __init__(
        self,
        reference: pd.DataFrame,
        fpr: float,
        description: str,
        min_active: int = MIN_ACTIVE,
        accounts: int | None = None,
        eligible: int | None = None,
    ):
        """``accounts``: all accounts of the log; ``eligible``: those that can be flagged (active, or in a
        component). Light accounts outside components are never flagged, so the per-account FPR budget is
        spent on the eligible ones: each may be flagged at rate ``fpr * accounts / eligible`` (at most 0.5)."""
        if not 0 < fpr < 0.5:
            raise ValueError(f"--fpr {fpr}: must be between 0 and 0.5")
        accounts = accounts or len(reference)
        eligible = min(accounts, eligible or accounts) or 1
        actor_fpr = min(0.5, fpr * accounts / eligible)
        ref = indicator_values(reference[reference["n"] >= min_active])
        self._ref = {k: ref[k].to_numpy(dtype=float) for k in INDICATORS}
        self.min_active = min_active
        raw = self.raw(reference[reference["n"] >= min_active]).to_numpy(dtype=float)
        centre, scale, trimmed = trimmed_location_scale(raw, float(stats.norm.isf(actor_fpr)))
        self.calibration = Calibration(
            fpr=fpr,
            threshold=float(stats.norm.isf(actor_fpr)),
            actor_fpr=actor_fpr,
            accounts=int(accounts),
            eligible_accounts=int(eligible),
            reference=description,
            n_reference=len(raw) - trimmed,
            centre=centre,
            scale=scale,
            min_active=min_active,
            indicator_reference={
                k: float(np.nanmedian(v)) if np.isfinite(v).any() else None for k, v in self._ref.items()
            },
        )

    def indicator_z(self, acc: pd.DataFrame) -> pd.DataFrame:
        values = indicator_values(acc)
        z = pd.DataFrame({k: normal_scores(values[k], self._ref[k]) for k in INDICATORS}, index=acc.index)
        weight = (acc["n"] / self.min_active).clip(upper=1.0)
        return z.mul(weight, axis=0)

    def raw(self, acc: pd.DataFrame) -> pd.Series:
        return self.indicator_z(acc).sum(axis=1)

    def z(self, acc: pd.DataFrame) -> pd.Series:
        """The reported score: robust z of the raw score against the reference."""
        c = self.calibration
        return (self.raw(acc) - c.centre) / c.scale


def pooled(acc: pd.DataFrame, members: dict[str, list[str]], narrowness: dict[str, float]) -> pd.DataFrame:
    """Aggregated counts of each group of accounts, as if the group were one account (harvest requests are
    already counted against the whole log, so a prompt the members repeat between them is not harvest)."""
    rows = {}
    for gid, accounts in members.items():
        a = acc.loc[accounts]
        n = a["n"].sum()
        w = a["log_opc"].notna() * a["n"]
        wi = a["log_inp"].notna() * a["n"]
        rows[gid] = {
            "n": n,
            "n_single": a["n_single"].sum(),
            "harvest": a["harvest"].sum(),
            "n_cot": a["n_cot"].sum(),
            "n_cap": a["n_cap"].sum(),
            "n_multi": a["n_multi"].sum(),
            "log_opc": float((a["log_opc"].fillna(0) * w).sum() / w.sum()) if w.sum() else np.nan,
            "log_inp": float((a["log_inp"].fillna(0) * wi).sum() / wi.sum()) if wi.sum() else np.nan,
            "narrowness": narrowness.get(gid, np.nan),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
