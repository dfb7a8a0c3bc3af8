"""Each flagged campaign as a sealed evidence log, written through the evidence layer's writer.

A campaign log holds: an ``import`` record opening the run (the scanned log, the SHA-256 of every
file the supporting requests come from, and the command); one ``campaign`` record (accounts with
their counts and scores, the indicators and links that fired, the calibration, the scan's rows,
bad rows and settings, what the evidence cannot show); one ``traffic_request`` record per supporting request (its file,
the file's SHA-256 and the row, with the prompt as logged); and the Ed25519 seal. ``forensics verify
--trust`` checks it like any other log.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from forensics.evidence import EvidenceLog
from forensics.evidence.records import CampaignRecord, ImportRecord, TrafficRequestRecord
from forensics.traffic.features import has_cot_cue
from forensics.traffic.output import guarded_output
from forensics.traffic.reading import file_sha256
from forensics.traffic.scan import Campaign, ScanResult
from forensics.traffic.scoring import INDICATORS

EVIDENCE_PER_ACCOUNT = 12
EVIDENCE_PER_CAMPAIGN = 600
PROMPT_CHARS = 4000
LIMITS = (
    "Accounts, networks and user agents are the provider's identifiers: they show that the same operator "
    "pattern ran these accounts, not who the operator is.",
    "The log holds requests only: it cannot show which answers were kept or used to train a model.",
    "Scores are calibrated on this log's own unlabelled traffic; a campaign large enough to be most of the "
    "active traffic, or one indistinguishable from it, would shift or escape the calibration.",
    "Campaign membership rests on shared infrastructure, near-duplicate prompts or a shared prompt source (lexical "
    "nearest neighbours); a campaign spread over many accounts of a few requests each, or one whose prompts are as "
    "broad as ordinary traffic, can stay below the threshold.",
    "Supporting requests are a deterministic sample (smallest prompt hashes) of each account's distinct "
    "single-turn prompts, not every request.",
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text_or_none(value) -> str | None:
    """A logged identifier as text, or None where the log left it empty (pandas may hold that as NaN)."""
    return value if isinstance(value, str) else None


def _account_rows(result: ScanResult, campaign: Campaign) -> list[dict]:
    acc = result.accounts.loc[list(campaign.accounts)]
    tokens = result.tables.tokens
    rows = []
    for a, r in acc.iterrows():

        def top(name, a=a):
            t = tokens[name]
            t = t[t["account_id"] == a].sort_values("c", ascending=False)
            return [str(v) for v in t[name].head(5)]

        rows.append(
            {
                "account_id": a,
                "requests": int(r["n"]),
                "harvest_requests": int(r["harvest"]),
                "distinct_single_turn_prompts": int(r["distinct"]),
                "account_score_z": round(float(r["account_z"]), 4),
                "final_score_z": round(float(r["final_z"]), 4),
                "first_request": iso(int(r["first_ms"])),
                "last_request": iso(int(r["last_ms"])),
                "networks": top("client_net"),
                "orgs": top("org_id"),
                "user_agents": top("user_agent"),
                "decoding_signatures": top("sig"),
            }
        )
    return rows


def supporting_requests(result: ScanResult, campaign: Campaign) -> pd.DataFrame:
    """The sampled requests of the campaign's accounts: an even share of ``EVIDENCE_PER_CAMPAIGN`` each
    (at least ``EVIDENCE_PER_ACCOUNT``), as far as the content sample holds them."""
    per = max(EVIDENCE_PER_ACCOUNT, EVIDENCE_PER_CAMPAIGN // max(1, len(campaign.accounts)))
    s = result.sample[result.sample["account_id"].isin(set(campaign.accounts))]
    s = s.sort_values(["account_id", "phash"]).groupby("account_id", sort=False).head(per)
    return s.head(EVIDENCE_PER_CAMPAIGN).sort_values(["ts_ms", "file", "row"])


def write_campaign_logs(result: ScanResult, out_dir: Path | str, command: list[str] | None = None) -> list[Path]:
    """One new sealed evidence log per campaign under ``out_dir``; refuses to reopen an existing one."""
    out_dir = Path(out_dir)
    paths = [guarded_output(out_dir / f"{c.id}.jsonl", "evidence") for c in result.campaigns]
    hashes: dict[int, str] = {}
    for campaign, path in zip(result.campaigns, paths):
        support = supporting_requests(result, campaign)
        for f in sorted(set(support["file"].astype(int))):
            if f not in hashes:
                hashes[f] = file_sha256(result.files[f])
        run_id = uuid.uuid4().hex
        with EvidenceLog(path) as log:
            log.append(
                ImportRecord(
                    {
                        "format": "traffic-scan",
                        "run_id": run_id,
                        "source": result.log,
                        "files": {result.files[f]: hashes[f] for f in sorted(set(support["file"].astype(int)))},
                        "command": list(command or []),
                    }
                ),
                sync=False,
            )
            log.append(
                CampaignRecord(
                    {
                        "run_id": run_id,
                        "campaign_id": campaign.id,
                        "accounts": _account_rows(result, campaign),
                        "score_z": round(campaign.score, 4),
                        "tests_z": dict(campaign.tests),
                        "member_median_z": campaign.member_median_z,
                        "threshold_z": result.calibration.threshold,
                        "calibration": result.calibration.to_dict(),
                        "requests": campaign.requests,
                        "harvest_requests": campaign.harvest_requests,
                        "first_request": iso(campaign.first_ms),
                        "last_request": iso(campaign.last_ms),
                        "indicators": {k: {"z": campaign.indicators[k], "means": INDICATORS[k][0]} for k in INDICATORS},
                        "fired": list(campaign.fired),
                        "links": campaign.links,
                        "mmd": [
                            {
                                "campaign_id": m.campaign,
                                "mmd2": m.mmd2,
                                "p_value": m.p_value,
                                "n_prompts": m.n_prompts,
                                "n_reference": m.n_reference,
                                "permutations": m.permutations,
                            }
                            for m in result.mmd
                            if m.campaign == campaign.id
                        ],
                        "limits": list(LIMITS),
                        "scan": {
                            "rows_read": result.tables.n_rows,
                            "bad_rows": result.tables.bad.to_dict(),
                            "settings": result.settings,
                        },
                    }
                ),
                sync=False,
            )
            log.extend(
                [
                    TrafficRequestRecord(
                        {
                            "run_id": run_id,
                            "campaign_id": campaign.id,
                            "account_id": r.account_id,
                            "source": {
                                "file": result.files[int(r.file)],
                                "sha256": hashes[int(r.file)],
                                "row": int(r.row),
                            },
                            "request_time": iso(int(r.ts_ms)),
                            "model": _text_or_none(r.model),
                            "user_agent": _text_or_none(r.user_agent),
                            "client_net": _text_or_none(r.client_net),
                            "system": (r.system or "")[:PROMPT_CHARS],
                            "prompt": r.prompt[:PROMPT_CHARS],
                            "prompt_chars": len(r.prompt),
                            "prompt_sha256": hashlib.sha256(r.prompt.encode("utf-8", "replace")).hexdigest(),
                            "features": {
                                "single_turn": True,
                                "chain_of_thought_cue": has_cot_cue(r.prompt) or has_cot_cue(r.system or ""),
                            },
                        }
                    )
                    for r in support.itertuples()
                ]
            )
            log.seal(run_id)
    return paths
