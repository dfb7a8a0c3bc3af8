"""Per-account aggregation on Dask: every reduction of one pass computed together, so each file is read once.

The local scheduler is the default (no server to start); ``scheduler="tcp://HOST:PORT"`` sends the
same graph to an existing ``dask.distributed`` cluster. Partitions are files, and every reduction
is a tree of partial aggregates, so memory is bounded by partition rather than by log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from forensics.traffic.features import (
    MAX_FEATURE_CHARS,
    empty_features,
    file_features,
    parse_messages,
    session_openers,
    text_hash,
)
from forensics.traffic.reading import read_file
from forensics.traffic.schema import BadRows, ColumnMapping


@contextlib.contextmanager
def dask_scheduler(scheduler: str | None, workers: int | None = None) -> Iterator[str]:
    """``None``/"threads"/"processes"/"synchronous": a local scheduler; ``tcp://...``: a running cluster."""
    if scheduler and scheduler.startswith(("tcp://", "tls://", "inproc://")):
        from distributed import Client

        with Client(scheduler) as client:
            yield f"distributed {scheduler} ({len(client.scheduler_info().get('workers', {}))} workers)"
        return
    name = scheduler or "threads"
    if name not in ("threads", "processes", "synchronous", "sync", "single-threaded"):
        raise ValueError(f"--scheduler {scheduler}: expected threads, processes, synchronous or tcp://HOST:PORT")
    with dask.config.set(scheduler=name, num_workers=workers):
        yield f"local {name}" + (f" ({workers} workers)" if workers else "")


def request_frame(files: list[Path], mapping: ColumnMapping) -> dd.DataFrame:
    """The per-request feature table of a log, one partition per file."""
    return dd.from_map(
        file_features,
        [str(f) for f in files],
        list(range(len(files))),
        mapping=mapping,
        meta=empty_features(),
        label="traffic-features",
        enforce_metadata=False,
    )


@dataclass
class AccountTables:
    """What the cheap stage knows about each account (index: account id), and the bad rows."""

    accounts: pd.DataFrame
    tokens: dict[str, pd.DataFrame]
    days: pd.DataFrame
    model_max: dict[str, float]
    bad: BadRows
    n_rows: int
    seconds: float
    files: list[str] = field(default_factory=list)


def _bad_head(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["bad_column"].notna(), ["file", "row", "bad_column", "bad_problem"]].head(20)


def aggregate(files: list[Path], mapping: ColumnMapping) -> AccountTables:
    """Every per-account reduction of the cheap stage, in one Dask computation."""
    started = time.monotonic()
    ddf = request_frame(files, mapping)
    is_bad = ddf["bad_column"].notnull()
    good = ddf[~is_bad]
    good = good.assign(
        multi=(good["nchoice"] > 1).astype("int64"),
        log_opc=np.log10(good["opc"].where(good["opc"] > 0)),
        log_inp=np.log10(good["inp"].where(good["inp"] > 0)),
        log_gap2=good["log_gap"] ** 2,
        single_i=good["single"].astype("int64"),
        cot_i=good["cot"].astype("int64"),
    )
    sums = good.groupby("account_id").agg(
        {
            "ts_ms": ["count", "min", "max"],
            "single_i": "sum",
            "cot_i": "sum",
            "multi": "sum",
            "log_opc": ["sum", "count"],
            "log_inp": ["sum", "count"],
            "log_gap": ["sum", "count"],
            "log_gap2": "sum",
        }
    )
    prompt_counts = good[good["single"]].groupby(["account_id", "phash"]).size()
    caps = good.groupby(["account_id", "model", "max_tokens"]).size()
    tokens = {c: good.groupby(["account_id", c]).size() for c in ("client_net", "org_id", "user_agent", "sig")}
    days = good.groupby(["account_id", "day"]).size()
    hours = good.groupby(["account_id", "hour"]).size()
    bad_counts = ddf[is_bad].groupby(["bad_column", "bad_problem"]).size()
    bad_examples = ddf.map_partitions(
        _bad_head,
        meta=pd.DataFrame(
            {
                "file": pd.Series(dtype="int32"),
                "row": pd.Series(dtype="int64"),
                "bad_column": pd.Series(dtype=object),
                "bad_problem": pd.Series(dtype=object),
            }
        ),
    )
    n_rows = ddf.map_partitions(len, meta=(None, "int64")).sum()
    (sums, prompt_counts, caps, days, hours, bad_counts, bad_examples, n_rows, *token_tables) = dask.compute(
        sums, prompt_counts, caps, days, hours, bad_counts, bad_examples, n_rows, *tokens.values()
    )
    sums.columns = ["_".join(c) for c in sums.columns]
    acc = pd.DataFrame(index=sums.index)
    acc["n"] = sums["ts_ms_count"].astype(float)
    acc["first_ms"], acc["last_ms"] = sums["ts_ms_min"], sums["ts_ms_max"]
    acc["n_single"] = sums["single_i_sum"].astype(float)
    acc["n_cot"] = sums["cot_i_sum"].astype(float)
    acc["n_multi"] = sums["multi_sum"].astype(float)
    acc["log_opc"] = sums["log_opc_sum"] / sums["log_opc_count"].where(sums["log_opc_count"] > 0)
    acc["log_inp"] = sums["log_inp_sum"] / sums["log_inp_count"].where(sums["log_inp_count"] > 0)
    k = sums["log_gap_count"].where(sums["log_gap_count"] > 1)
    acc["gap_mean"] = sums["log_gap_sum"] / k
    acc["gap_sd"] = np.sqrt((sums["log_gap2_sum"] / k - acc["gap_mean"] ** 2).clip(lower=0))
    pc = prompt_counts.rename("c").reset_index()
    # a harvest request asks for an answer the log holds at most twice: a prompt that many sends repeat,
    # whether from one account or from several (a sweep, a shared evaluation set, a menu), is not harvest
    in_log = pc.groupby("phash")["c"].transform("sum")
    per = (
        pc.assign(once=np.where(in_log <= 2, pc["c"], 0))
        .groupby("account_id")
        .agg(distinct=("c", "size"), harvest=("once", "sum"))
    )
    acc = acc.join(per).fillna({"distinct": 0.0, "harvest": 0.0})
    caps = caps.rename("c").reset_index()
    caps["max_tokens"] = pd.to_numeric(caps["max_tokens"], errors="coerce").astype(float)
    model_max = caps.groupby("model")["max_tokens"].max().dropna().to_dict() if len(caps) else {}
    limit = caps["model"].map(model_max).to_numpy(dtype=float, na_value=np.nan)
    caps["cap"] = caps["max_tokens"].to_numpy(dtype=float) >= limit
    acc["n_cap"] = caps[caps["cap"]].groupby("account_id")["c"].sum().reindex(acc.index).fillna(0.0)
    hours = hours.rename("c").reset_index()
    hour_share = hours["c"] / hours.groupby("account_id")["c"].transform("sum")
    acc["hour_conc"] = (hour_share**2).groupby(hours["account_id"]).sum()
    acc["active_days"] = days.groupby(level=0).size().reindex(acc.index).astype(float)
    token_frames = {name: t.rename("c").reset_index() for name, t in zip(tokens, token_tables)}
    sig = token_frames["sig"]
    top = sig.sort_values("c", ascending=False).drop_duplicates("account_id").set_index("account_id")
    acc["top_sig"], acc["top_sig_share"] = top["sig"], top["c"] / acc["n"]
    ua = token_frames["user_agent"].sort_values("c", ascending=False).drop_duplicates("account_id")
    acc["top_ua"] = ua.set_index("account_id")["user_agent"]
    bad = BadRows()
    for (column, problem), count in bad_counts.items():
        bad.counts[(column, problem)] += int(count)
    for r in bad_examples.head(20).itertuples():
        bad.examples.append(f"{files[int(r.file)]}:row {int(r.row)}: column '{r.bad_column}': {r.bad_problem}")
    return AccountTables(
        accounts=acc.sort_index(),
        tokens=token_frames,
        days=days.rename("c").reset_index(),
        model_max={str(k): float(v) for k, v in model_max.items()},
        bad=bad,
        n_rows=int(n_rows),
        seconds=time.monotonic() - started,
        files=[str(f) for f in files],
    )


SAMPLE_COLUMNS = {
    "file": "int32",
    "row": "int64",
    "account_id": "object",
    "ts_ms": "int64",
    "phash": "int64",
    "prompt": "object",
    "system": "object",
    "model": "object",
    "user_agent": "object",
    "client_net": "object",
}


def _sample_file(path: str, file_index: int, mapping: ColumnMapping, accounts: frozenset, per_account: int):
    """Distinct single-turn prompts of the named accounts in one file, the ``per_account`` smallest hashes each."""
    frame = read_file(path, mapping)
    frame = frame[frame["bad_column"].isna() & frame["account_id"].isin(accounts)]
    parsed = [parse_messages(m) if m is not None else "missing" for m in frame["messages"]]
    ok = [not isinstance(p, str) for p in parsed]
    single = [o and p[1] == 1 and not p[2] for o, p in zip(ok, parsed)]
    phash = [text_hash(p[0]) if o else 0 for o, p in zip(ok, parsed)]
    first = [text_hash(p[3]) if o and not s else None for o, s, p in zip(ok, single, parsed)]
    opener = session_openers(frame["account_id"].tolist(), phash, first, single)
    stamps = pd.to_datetime(frame["ts"], errors="coerce", utc=True).dt.as_unit("ms")
    rows = []
    for i, (acct, system, row, model, ua, net) in enumerate(
        zip(
            frame["account_id"],
            frame["system"],
            frame["_row"],
            frame["model"],
            frame["user_agent"],
            frame["client_net"],
        )
    ):
        if not single[i] or opener[i] or pd.isna(stamps.iat[i]):
            continue
        rows.append(
            (
                file_index,
                int(row),
                acct,
                int(stamps.iat[i].value // 10**6),
                phash[i],
                parsed[i][0][:MAX_FEATURE_CHARS],
                system[:MAX_FEATURE_CHARS] if isinstance(system, str) else "",
                model,
                ua,
                net,
            )
        )
    out = pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS)).astype(
        {k: v for k, v in SAMPLE_COLUMNS.items() if v != "object"}
    )
    return _bottom_k(out, per_account)


def _bottom_k(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    frame = frame.sort_values(["account_id", "phash", "ts_ms"]).drop_duplicates(["account_id", "phash"])
    return frame.groupby("account_id", sort=False).head(k)


def sample_prompts(files: list[Path], mapping: ColumnMapping, accounts, per_account: int = 48) -> pd.DataFrame:
    """Second, filtered read (content stage): up to ``per_account`` distinct single-turn prompts of each
    candidate account, chosen by smallest hash (a deterministic uniform sample), with their provenance."""
    accounts = frozenset(accounts)
    if not accounts or not files:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in SAMPLE_COLUMNS.items()})
    ddf = dd.from_map(
        _sample_file,
        [str(f) for f in files],
        list(range(len(files))),
        mapping=mapping,
        accounts=accounts,
        per_account=per_account,
        meta=pd.DataFrame({k: pd.Series(dtype=v) for k, v in SAMPLE_COLUMNS.items()}),
        label="traffic-sample",
        enforce_metadata=False,
    )
    return _bottom_k(ddf.compute(), per_account).reset_index(drop=True)
