"""Reading request logs (Parquet or JSONL) one file at a time, into checked rows with their provenance.

Each file is one Dask partition, so memory is bounded by the largest file, not by the log. Every
kept row carries its file index and row number (0-based for Parquet, the 1-based line for JSONL),
so a finding can always be traced back to the provider's own record. Bad rows are kept as rows
with ``bad_column`` and ``bad_problem`` set, counted later, and never scored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from forensics.traffic.schema import COLUMNS, OPTIONAL, ColumnMapping, TrafficSchemaError

PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def log_files(log) -> list[Path]:
    """The data files of a log: one file, every Parquet/JSONL file below a folder (hive partitions too),
    or a list of such files and folders (a slice of days, say)."""
    if isinstance(log, (list, tuple)):
        return [f for part in log for f in log_files(part)]
    log = Path(log)
    if log.is_file():
        return [log]
    if not log.is_dir():
        raise FileNotFoundError(f"{log}: no such log file or folder")
    files = sorted(p for p in log.rglob("*") if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES + JSONL_SUFFIXES)
    return files


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_parquet(path: Path, mapping: ColumnMapping, columns: list[str] | None) -> pd.DataFrame:
    schema = pq.read_schema(path)
    names = list(schema.names)
    missing = mapping.check_present(path, names)
    wanted = [c for c in (columns or list(COLUMNS)) if c not in missing]
    theirs = [mapping.theirs(c) for c in wanted]
    try:
        table = pq.read_table(path, columns=theirs)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise TrafficSchemaError(path, "<parquet>", f"cannot be read ({exc})") from None
    frame = pd.DataFrame(
        {ours: _column(table.column(t), path, ours) for ours, t in zip(wanted, theirs)},
        index=pd.RangeIndex(table.num_rows),
    )
    frame["_row"] = np.arange(table.num_rows, dtype=np.int64)
    for ours in missing:
        frame[ours] = None
    return frame


def _column(col, path: Path, ours: str) -> pd.Series:
    """A pyarrow column as pandas; binary columns are decoded, and bytes that are not UTF-8 are kept
    as a marker so the row is named as bad rather than the whole file refused."""
    import pyarrow as pa

    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        values = col.to_pylist()
        out = []
        for v in values:
            if v is None:
                out.append(None)
                continue
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError as exc:
                out.append(_NotUtf8(f"not UTF-8 ({exc.reason} at byte {exc.start})"))
        return pd.Series(out, dtype=object)
    series = col.to_pandas()
    if ours == "ts" and pd.api.types.is_datetime64_any_dtype(series):
        return series
    return series.astype(object) if series.dtype.name in ("string", "str", "large_string") else series


class _NotUtf8(str):
    """A cell whose bytes were not UTF-8; its text is the problem."""


def _read_jsonl(path: Path, mapping: ColumnMapping, columns: list[str] | None) -> pd.DataFrame:
    records, lines, bad = [], [], []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad.append((lineno, "<utf-8>", f"not UTF-8 ({exc.reason} at byte {exc.start})"))
                continue
            except (json.JSONDecodeError, RecursionError) as exc:
                bad.append((lineno, "<json>", f"not valid JSON ({exc})"))
                continue
            if not isinstance(obj, dict):
                bad.append((lineno, "<json>", "not a JSON object"))
                continue
            records.append(obj)
            lines.append(lineno)
    present = sorted({k for r in records for k in r}) if records else []
    if records:
        mapping.check_present(path, present)
    wanted = columns or list(COLUMNS)
    frame = pd.DataFrame({c: [r.get(mapping.theirs(c)) for r in records] for c in wanted}, dtype=object)
    frame["_row"] = np.asarray(lines, dtype=np.int64)
    if bad:
        extra = pd.DataFrame({c: [None] * len(bad) for c in wanted}, dtype=object)
        extra["_row"] = np.asarray([b[0] for b in bad], dtype=np.int64)
        extra["bad_column"] = [b[1] for b in bad]
        extra["bad_problem"] = [b[2] for b in bad]
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def read_file(path: Path | str, mapping: ColumnMapping | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """One log file as rows with our column names, ``_row`` provenance and any bad-row marks."""
    path, mapping = Path(path), mapping or ColumnMapping()
    if path.suffix.lower() in PARQUET_SUFFIXES:
        frame = _read_parquet(path, mapping, columns)
    elif path.suffix.lower() in JSONL_SUFFIXES:
        frame = _read_jsonl(path, mapping, columns)
    else:
        raise TrafficSchemaError(path, "<file>", "neither Parquet nor JSONL")
    for c in ("bad_column", "bad_problem"):
        if c not in frame:
            frame[c] = None
    return frame


def check_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark rows that break the schema (first problem per row); coerce the columns that pass."""
    out = frame.copy()
    bad_col = out["bad_column"].astype(object).copy()
    bad_prob = out["bad_problem"].astype(object).copy()

    def mark(mask, column: str, problem: str) -> None:
        mask = mask & bad_col.isna()
        bad_col[mask] = column
        bad_prob[mask] = problem

    for column in out.columns:
        if column in COLUMNS and out[column].dtype == object:
            marks = out[column].map(lambda v: isinstance(v, _NotUtf8))
            if marks.any():
                for i in np.flatnonzero(marks.to_numpy()):
                    if pd.isna(bad_col.iat[i]):
                        bad_col.iat[i], bad_prob.iat[i] = column, str(out[column].iat[i])
                out.loc[marks, column] = None
    acct = out["account_id"]
    mark(acct.isna() | (acct.astype(str).str.strip() == ""), "account_id", "missing or empty")
    if not pd.api.types.is_datetime64_any_dtype(out["ts"]):
        ts = pd.to_datetime(out["ts"], errors="coerce", utc=True, format="mixed")
    else:
        ts = out["ts"] if out["ts"].dt.tz is not None else out["ts"].dt.tz_localize("UTC")
    mark(ts.isna(), "ts", "missing or not a timestamp")
    out["ts"] = ts
    for column, kind in (
        ("temperature", float),
        ("top_p", float),
        ("max_tokens", int),
        ("n", int),
        ("input_tokens", int),
        ("output_tokens", int),
        ("status", int),
    ):
        if column not in out:
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        wrong = out[column].notna() & (values.isna() | ~np.isfinite(values.astype(float)))
        mark(wrong, column, f"not a finite number ({COLUMNS[column]})")
        values = values.where(~wrong)
        if kind is int:
            mark(values.notna() & (values < 0), column, "negative")
        out[column] = values.astype(float)
    out["bad_column"], out["bad_problem"] = bad_col, bad_prob
    for column in OPTIONAL:
        if column not in out:
            out[column] = None
    return out
