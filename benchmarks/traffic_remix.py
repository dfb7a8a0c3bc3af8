"""Stress variants of the dev traffic log for ``forensics bench traffic``: campaign behaviours dev does not show,
built only by re-dealing dev's own rows (no text is written or altered), with a truth file to score them.

Dev is the only labelled log we have, and its six campaigns were all seen while the detector was designed.
These variants keep dev's real prompts and benign traffic but change how the campaigns behave:

- ``camouflage``: every attack account takes over whole benign users (their rows, up to about one benign
  request per campaign request and at most 8 users, from a pool of half the benign users) and sends its
  campaign requests with the metadata of those users' own requests (org, key, network, user agent, model,
  decoding settings), drawn row by row.
  Each campaign account then looks like a person who also harvests; the absorbed users leave the log.
- ``scatter``: every campaign's requests are shuffled and dealt to many new accounts of 3 to 15 requests
  (mean about 8), each with its own new org and key and the network, user agent, model and decoding
  settings of one benign user's requests (that user stays in the log). No shared infrastructure, client,
  timing or decoding signature is left; only the prompt source ties a campaign together.

Request times, texts and token counts are the dev rows' own (output tokens are clipped to a new
``max_tokens``). ``harvest_requests`` of a new account is its share of the original accounts' harvest.

    .venv/bin/python benchmarks/traffic_remix.py --variant scatter --out /tmp/remix-scatter
    .venv/bin/python -m forensics.cli bench traffic --data /tmp/remix-scatter
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "traffic" / "dev"
ROW_META = ["client_net", "user_agent", "model", "temperature", "top_p", "n", "max_tokens", "stream"]
META = ["org_id", "api_key_id", *ROW_META]


def _borrow(rows: pd.DataFrame, donor_rows: pd.DataFrame, fields: list[str], rng: np.random.Generator) -> None:
    """Give each of ``rows`` the ``fields`` of a random row of ``donor_rows`` (in place)."""
    pick = donor_rows.iloc[rng.integers(0, len(donor_rows), len(rows))]
    for f in fields:
        rows[f] = pick[f].to_numpy()
    cap = rows["max_tokens"].astype("int64") * rows["n"].astype("int64")
    rows["output_tokens"] = np.minimum(rows["output_tokens"].astype("int64"), cap).astype("int32")


def camouflage(log: pd.DataFrame, truth: dict, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    users = [a for a, t in truth.items() if t["kind"] == "benign_user"]
    users = list(rng.permutation(users))[: len(users) // 2]
    by_account = {a: g for a, g in log.groupby("account_id", sort=False)}
    attack = sorted(a for a, t in truth.items() if t["kind"] == "attack")
    attack = list(rng.permutation(attack))
    parts, new_truth = [], {a: t for a, t in truth.items() if t["kind"] != "attack"}
    for a in attack:
        rows = by_account[a].copy()
        absorbed, size = [], 0
        while users and size < len(rows) and len(absorbed) < 8:
            u = users.pop()
            absorbed.append(u)
            size += len(by_account[u])
        if absorbed:
            donor = pd.concat([by_account[u] for u in absorbed])
            _borrow(rows, donor, META, rng)
            donor = donor.copy()
            donor["account_id"] = a
            rows = pd.concat([rows, donor])
            for u in absorbed:
                del new_truth[u]
        parts.append(rows)
        new_truth[a] = {**truth[a], "requests": len(rows), "behaviours": [*truth[a]["behaviours"], "remix:camouflage"]}
    rest = log[~log["account_id"].isin(set(attack) | (set(truth) - set(new_truth)))]
    return pd.concat([rest, *parts]), new_truth


def scatter(log: pd.DataFrame, truth: dict, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    users = [a for a, t in truth.items() if t["kind"] == "benign_user"]
    by_account = {a: g for a, g in log.groupby("account_id", sort=False)}
    attack = [a for a, t in truth.items() if t["kind"] == "attack"]
    rows = log[log["account_id"].isin(set(attack))].copy()
    rows["_harvest"] = rows["account_id"].map({a: truth[a]["harvest_requests"] / truth[a]["requests"] for a in attack})
    rows["_campaign"] = rows["account_id"].map({a: truth[a]["campaign_id"] for a in attack})
    new_truth = {a: t for a, t in truth.items() if t["kind"] != "attack"}
    parts = []
    for campaign, group in rows.groupby("_campaign", sort=True):
        group = group.iloc[rng.permutation(len(group))]
        start, k = 0, 0
        while start < len(group):
            size = int(np.clip(rng.poisson(8), 3, 15))
            chunk = group.iloc[start : start + size].copy()
            start += size
            name = f"acct-x{campaign.lower()}{k:04d}"
            k += 1
            donor = users[int(rng.integers(0, len(users)))]
            _borrow(chunk, by_account[donor], ROW_META, rng)
            source = truth[chunk["account_id"].iat[0]]["source"]
            chunk["account_id"] = name
            chunk["org_id"] = f"org-x{campaign.lower()}{k:04d}"
            chunk["api_key_id"] = f"key-x{campaign.lower()}{k:04d}"
            parts.append(chunk)
            new_truth[name] = {
                "kind": "attack",
                "campaign_id": campaign,
                "source": source,
                "behaviours": ["remix:scatter"],
                "requests": len(chunk),
                "harvest_requests": int(round(float(chunk["_harvest"].sum()))),
            }
    out = pd.concat([log[~log["account_id"].isin(set(attack))], *parts])
    return out.drop(columns=["_harvest", "_campaign"]), new_truth


VARIANTS = {"camouflage": camouflage, "scatter": scatter}


def build(dev: Path, out: Path, variant: str, seed: int = 0) -> tuple[int, int]:
    """Write ``out/log/day=*/part-0.parquet`` and ``out/truth.json``; returns (rows, attack accounts)."""
    log = pd.read_parquet(dev / "log")
    log = log.drop(columns=[c for c in ("day",) if c in log])
    truth = json.loads((dev / "truth.json").read_text(encoding="utf-8"))
    new, new_truth = VARIANTS[variant](log, truth, np.random.default_rng(seed))
    new = new.sort_values(["ts", "request_id"], kind="stable").reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=False)
    for day, chunk in new.groupby(new["ts"].dt.strftime("%Y-%m-%d")):
        folder = out / "log" / f"day={day}"
        folder.mkdir(parents=True)
        chunk.to_parquet(folder / "part-0.parquet", index=False, compression="zstd")
    (out / "truth.json").write_text(json.dumps(new_truth, indent=0) + "\n", encoding="utf-8")
    return len(new), sum(1 for t in new_truth.values() if t["kind"] == "attack")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    parser.add_argument("--out", required=True, help="new folder: log/ and truth.json are written in it")
    parser.add_argument("--dev", default=str(DEV))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, attackers = build(Path(args.dev), Path(args.out), args.variant, args.seed)
    print(f"{args.out}: {rows} rows, {attackers} attack accounts ({args.variant} variant of {args.dev})")


if __name__ == "__main__":
    main()
