"""A small, clearly synthetic request log for the traffic tests (no real prompt, no real traffic).

Benign people chat in multi-turn sessions about random topics built from a made-up vocabulary; one
benign application repeats a short menu of templated requests; one synthetic "campaign" runs many
light accounts behind a few shared networks with one client and one decoding signature, each sending
distinct single-turn prompts of one narrow made-up task family with a step-by-step demand.
``camouflaged_log`` adds a second made-up campaign that hides: each of its accounts looks like one of the
people (own network, a people's client, unset decoding settings, the same multi-turn sessions) and mixes
its sessions about one to one with single-turn prompts of another narrow made-up task family.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SYLLABLES = [c + v for c in "bdfghjklmnprstvz" for v in "aeiou"]


def _word(rng) -> str:
    return "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5))))


def _row(rng, ts, account, org, net, ua, messages, **over) -> dict:
    row = {
        "request_id": f"req-{rng.integers(1 << 40):x}",
        "ts": ts,
        "account_id": account,
        "org_id": org,
        "api_key_id": f"key-{account}",
        "client_net": net,
        "user_agent": ua,
        "model": "synthetic-model",
        "endpoint": "/v1/chat/completions",
        "system": None,
        "messages": json.dumps(messages),
        "temperature": None,
        "top_p": None,
        "max_tokens": 1024,
        "n": 1,
        "stream": False,
        "input_tokens": 30,
        "output_tokens": int(rng.integers(50, 400)),
        "status": 200,
    }
    row.update(over)
    return row


def synthetic_log(
    rng: np.random.Generator, users: int = 300, campaign_accounts: int = 40, per_campaign_account: int = 8
) -> tuple[pd.DataFrame, dict[str, str]]:
    """(rows, account -> "user" | "app" | "campaign"), over 6 synthetic days."""
    start = pd.Timestamp("2030-01-01", tz="UTC")
    rows, kinds = [], {}
    for u in range(users):
        account = f"user-{u:04d}"
        kinds[account] = "user"
        net = f"net-home-{u}" if u % 3 else "net-carrier-1"
        ua = ["web/1", "sdk-py/2", "sdk-js/3"][u % 3]
        sessions = int(rng.integers(2, 9))
        for _ in range(sessions):
            t = start + pd.Timedelta(minutes=int(rng.integers(0, 6 * 24 * 60)))
            turns = []
            for _ in range(int(rng.integers(1, 4))):
                question = " ".join(_word(rng) for _ in range(int(rng.integers(5, 14)))) + "?"
                turns.append({"role": "user", "content": question})
                rows.append(
                    _row(
                        rng,
                        t,
                        account,
                        f"org-u{u}",
                        net,
                        ua,
                        list(turns),
                        temperature=float(rng.choice([0.7, 1.0])) if u % 2 else None,
                    )
                )
                turns.append({"role": "assistant", "content": "[omitted: 120 tokens]"})
                t += pd.Timedelta(minutes=int(rng.integers(1, 5)))
    menu = [
        f"Classify this synthetic ticket as {_word(rng)} or {_word(rng)}: {_word(rng)} {_word(rng)}" for _ in range(15)
    ]
    kinds["app-0001"] = "app"
    for i in range(600):
        t = start + pd.Timedelta(seconds=int(i * 850))
        rows.append(
            _row(
                rng,
                t,
                "app-0001",
                "org-app",
                "net-app",
                "app-client/1",
                [{"role": "user", "content": menu[i % len(menu)]}],
                temperature=0.0,
                max_tokens=16,
                output_tokens=3,
                system="You label synthetic tickets.",
            )
        )
    nouns = [_word(rng) for _ in range(400)]
    k = 0
    for c in range(campaign_accounts):
        account = f"camp-{c:04d}"
        kinds[account] = "campaign"
        for _ in range(per_campaign_account):
            t = start + pd.Timedelta(minutes=int(k * 7))
            task = (
                f"Write a synthetic routine named {nouns[k % 400]}_{k} that converts {nouns[(k * 7) % 400]} "
                f"records into {nouns[(k * 13) % 400]} records. Think step by step and show your reasoning."
            )
            rows.append(
                _row(
                    rng,
                    t,
                    account,
                    f"org-shell-{c % 4}",
                    f"net-proxy-{k % 3}",
                    "httpclient/9",
                    [{"role": "user", "content": task}],
                    temperature=1.0,
                    top_p=1.0,
                    n=2,
                    max_tokens=4096,
                    output_tokens=int(rng.integers(1500, 3000)),
                )
            )
            k += 1
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.sort_values("ts").reset_index(drop=True), kinds


def camouflaged_log(
    rng: np.random.Generator, accounts: int = 12, harvest_per_account: int = 24
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The synthetic log plus a camouflaged campaign ("hidden"), and the kinds of every account."""
    frame, kinds = synthetic_log(rng)
    start = pd.Timestamp("2030-01-01", tz="UTC")
    places, creatures = [_word(rng) for _ in range(300)], [_word(rng) for _ in range(300)]
    rows, k = [], 0
    for c in range(accounts):
        account = f"hide-{c:04d}"
        kinds[account] = "hidden"
        ua, net = ["web/1", "sdk-py/2", "sdk-js/3"][c % 3], f"net-home-h{c}"
        for _ in range(harvest_per_account):
            t = start + pd.Timedelta(minutes=int(rng.integers(0, 6 * 24 * 60)))
            task = (
                f"Pretend you are the keeper of the {creatures[(k * 7) % 300]} in {places[k % 300]}. "
                f"Describe in your own voice how you would calm the {creatures[(k * 11) % 300]} at night."
            )
            rows.append(_row(rng, t, account, f"org-h{c}", net, ua, [{"role": "user", "content": task}]))
            k += 1
        for _ in range(harvest_per_account // 2):  # ordinary sessions, as many requests as the harvest
            t = start + pd.Timedelta(minutes=int(rng.integers(0, 6 * 24 * 60)))
            turns = []
            for _ in range(2):
                question = " ".join(_word(rng) for _ in range(int(rng.integers(5, 14)))) + "?"
                turns.append({"role": "user", "content": question})
                rows.append(_row(rng, t, account, f"org-h{c}", net, ua, list(turns)))
                turns.append({"role": "assistant", "content": "[omitted: 120 tokens]"})
                t += pd.Timedelta(minutes=int(rng.integers(1, 5)))
    hidden = pd.DataFrame(rows)
    hidden["ts"] = pd.to_datetime(hidden["ts"], utc=True)
    return pd.concat([frame, hidden]).sort_values("ts").reset_index(drop=True), kinds


def write_parquet_days(frame: pd.DataFrame, folder: Path) -> Path:
    """One Parquet file per synthetic day, hive-partitioned like a provider log."""
    for day, part in frame.groupby(frame["ts"].dt.strftime("%Y-%m-%d")):
        out = folder / f"day={day}"
        out.mkdir(parents=True, exist_ok=True)
        part.to_parquet(out / "part-0.parquet", index=False)
    return folder


def write_jsonl(frame: pd.DataFrame, path: Path) -> Path:
    records = frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_dict(orient="records")
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
