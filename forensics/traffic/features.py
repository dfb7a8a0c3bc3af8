"""Cheap per-request features, computed on every row, one file (Dask partition) at a time.

Nothing here needs a model: the last user turn is parsed from ``messages``, hashed after light
normalisation (case and whitespace), and checked for generic chain-of-thought elicitation cues;
decoding settings become a signature string; timing gaps are taken between an account's requests
inside the same partition (gaps that cross a file boundary are not counted).
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd

from forensics.traffic.reading import check_rows, read_file
from forensics.traffic.schema import ColumnMapping

# Text longer than this is cut before features are computed (a 50 MB prompt must not stall a
# worker); its full length is kept. Hashes cover the cut, normalised text plus the full length.
MAX_FEATURE_CHARS = 20_000

# Chain-of-thought elicitation, described by generic lexical cues (Kojima et al. 2022's zero-shot
# trigger, and the usual ways of demanding visible reasoning). Not a list of any campaign's phrasings.
COT_CUES = re.compile(
    r"step[- ]by[- ]step"
    r"|\blet'?s think\b"
    r"|\bchain[- ]of[- ]thought\b"
    r"|\bthink (?:it |this |things )?(?:through|carefully|aloud|out loud)\b"
    r"|\bshow (?:your|all|the|each|every) (?:work|working|reasoning|steps|thinking|thought process)\b"
    r"|\bexplain (?:your|the|each|every) (?:reasoning|thought process|steps)\b"
    r"|\b(?:full|detailed|complete|explicit) reasoning\b"
    r"|\breason(?:ing)? (?:step|carefully|through)\b"
    r"|\bbefore (?:giving|stating|you give|answering|the) (?:the |your )?final answer\b",
    re.I,
)
_COT_ANCHORS = ("step", "think", "chain", "reason", "show", "explain", "final answer")
_WS = re.compile(r"\s+")


def has_cot_cue(text: str, _cache: dict[str, bool] | None = None) -> bool:
    """Whether a text carries a chain-of-thought elicitation cue (anchor words first: the regex is the slow part)."""
    if _cache is not None and text in _cache:
        return _cache[text]
    cut = text[:MAX_FEATURE_CHARS]
    low = cut.lower()
    found = any(a in low for a in _COT_ANCHORS) and bool(COT_CUES.search(cut))
    if _cache is not None:
        _cache[text] = found
    return found


REQUEST_COLUMNS = {
    "file": "int32",
    "row": "int64",
    "account_id": "object",
    "ts_ms": "int64",
    "day": "int32",
    "hour": "int8",
    "single": "bool",
    "phash": "int64",
    "cot": "bool",
    "nchoice": "float64",
    "max_tokens": "float64",
    "model": "object",
    "opc": "float64",
    "inp": "float64",
    "ok": "bool",
    "client_net": "object",
    "org_id": "object",
    "user_agent": "object",
    "sig": "object",
    "log_gap": "float64",
    "bad_column": "object",
    "bad_problem": "object",
}


def normalise(text: str) -> str:
    return _WS.sub(" ", text[:MAX_FEATURE_CHARS]).strip().lower()


def text_hash(text: str) -> int:
    """64-bit hash of the normalised text and its full length (signed, to fit an int64 column)."""
    digest = hashlib.blake2b(f"{len(text)}\0{normalise(text)}".encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def parse_messages(value) -> tuple[str, int, bool, str] | str:
    """(last user text, user turns, has an earlier assistant turn, first user text), or a problem to report."""
    if isinstance(value, str):
        if not value.lstrip().startswith(("[", "{")):  # a completions log may keep the bare prompt text
            return value, 1, False, value
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            return f"not valid JSON ({exc.__class__.__name__})"
    if isinstance(value, dict) and isinstance(value.get("prompt"), str):  # a completions-style row
        return value["prompt"], 1, False, value["prompt"]
    if not isinstance(value, list) or not value:
        return "expected a non-empty JSON list of {role, content}"
    users, assistant, last, first = 0, False, None, None
    for m in value:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return "a message is not {role, content}"
        content = m.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            return "a message content is not text"
        if m["role"] == "user":
            users, last = users + 1, content
            first = content if first is None else first
        elif m["role"] == "assistant":
            assistant = True
    if last is None:
        return "no user message"
    return last, users, assistant, first


def session_openers(accounts, prompt_hashes, first_hashes, single) -> np.ndarray:
    """Single-turn requests whose prompt later opens a multi-turn conversation of the same account (in the
    same partition): a person's first question, not a one-shot ask."""
    continued = {(a, f) for a, f, s in zip(accounts, first_hashes, single) if not s and f is not None}
    return np.fromiter(
        ((a, h) in continued if s else False for a, h, s in zip(accounts, prompt_hashes, single)),
        dtype=bool,
        count=len(single),
    )


def signature(temperature, top_p, n, max_tokens, stream) -> str:
    def fmt(v, digits=2):
        return "unset" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{float(v):.{digits}g}"

    return f"t={fmt(temperature)}|p={fmt(top_p)}|n={fmt(n)}|max={fmt(max_tokens, 6)}|stream={stream}"


def request_features(frame: pd.DataFrame, file_index: int) -> pd.DataFrame:
    """The compact per-request table of one checked file (bad rows kept, marked, with empty features)."""
    frame = check_rows(frame)
    parsed = [parse_messages(v) if v is not None else "missing" for v in frame["messages"]]
    bad_col, bad_prob = frame["bad_column"].copy(), frame["bad_problem"].copy()
    prompts, turns, assistant, firsts = [], [], [], []
    for i, p in enumerate(parsed):
        if isinstance(p, str):
            if pd.isna(bad_col.iat[i]):
                bad_col.iat[i], bad_prob.iat[i] = "messages", p
            prompts.append(""), turns.append(0), assistant.append(False), firsts.append(None)
        else:
            prompts.append(p[0]), turns.append(p[1]), assistant.append(p[2]), firsts.append(p[3])
    system = frame["system"].map(lambda s: s[:MAX_FEATURE_CHARS] if isinstance(s, str) else "")
    cache: dict[str, bool] = {}
    cot = [has_cot_cue(s, cache) or has_cot_cue(p, cache) for s, p in zip(system, prompts)]
    ts = pd.to_datetime(frame["ts"], utc=True).dt.as_unit("ms")
    ts_ms = ts.astype("int64").where(ts.notna(), 0).astype("int64")
    n = frame["n"].astype(float).fillna(1.0).clip(lower=1.0)
    out_tokens = frame["output_tokens"].astype(float)
    status = frame["status"].astype(float)
    ok = (status.isna() | (status == 200)).to_numpy()
    stream = frame["stream"].map(lambda v: "unset" if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v))
    single = (np.asarray(turns) == 1) & ~np.asarray(assistant, dtype=bool)
    phash = np.asarray([text_hash(p) for p in prompts], dtype=np.int64)
    first_hash = [text_hash(f) if f is not None and not s else None for f, s in zip(firsts, single)]
    opener = session_openers(frame["account_id"].tolist(), phash.tolist(), first_hash, single.tolist())
    out = pd.DataFrame(
        {
            "file": np.full(len(frame), file_index, dtype=np.int32),
            "row": frame["_row"].to_numpy(dtype=np.int64),
            "account_id": frame["account_id"].astype(object).to_numpy(),
            "ts_ms": ts_ms.to_numpy(),
            "day": (ts_ms // 86_400_000).astype("int32").to_numpy(),
            "hour": ((ts_ms // 3_600_000) % 24).astype("int8").to_numpy(),
            "single": single & ~opener,
            "phash": phash,
            "cot": np.asarray(cot, dtype=bool),
            "nchoice": n.to_numpy(),
            "max_tokens": frame["max_tokens"].astype(float).to_numpy(),
            "model": frame["model"].astype(object).where(frame["model"].notna(), "unknown").to_numpy(),
            "opc": np.where(ok, out_tokens / n, np.nan),
            "inp": frame["input_tokens"].astype(float).to_numpy(),
            "ok": ok,
            "client_net": frame["client_net"].astype(object).to_numpy(),
            "org_id": frame["org_id"].astype(object).to_numpy(),
            "user_agent": frame["user_agent"].astype(object).to_numpy(),
            "sig": [
                signature(t, p, c, m, s)
                for t, p, c, m, s in zip(frame["temperature"], frame["top_p"], n, frame["max_tokens"], stream)
            ],
            "log_gap": np.nan,
            "bad_column": bad_col.to_numpy(),
            "bad_problem": bad_prob.to_numpy(),
        }
    )
    good = out["bad_column"].isna().to_numpy()
    out.loc[~good, ["single", "cot", "ok"]] = False
    if good.any():
        g = out[good].sort_values(["account_id", "ts_ms"], kind="stable")
        gaps = g.groupby("account_id", sort=False)["ts_ms"].diff() / 1000.0
        out.loc[g.index, "log_gap"] = np.log10(gaps.clip(lower=0.01))
    return out.astype({k: v for k, v in REQUEST_COLUMNS.items() if v != "object"})


def file_features(path: str, file_index: int, mapping: ColumnMapping) -> pd.DataFrame:
    """Read one file and compute its request features (the Dask partition function)."""
    return request_features(read_file(path, mapping), file_index)


def empty_features() -> pd.DataFrame:
    """The Dask ``meta``: the per-request table with no rows."""
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in REQUEST_COLUMNS.items()})
