"""Provenance: where every response in a set of verified evidence logs came from.

Per log, per model label, per probe set: model ids (asked for and reported by the server),
endpoints, decoding settings, time range, import sources, commands and package versions.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from forensics.evidence.collection import package_versions
from forensics.evidence.records import canonical_json
from forensics.evidence.verifier import VerifiedLog


def _decoding_text(decoding: Mapping | None) -> str:
    if not decoding:
        return "not recorded"
    parts = []
    for key in ("temperature", "top_p", "max_tokens", "seed"):
        if key in decoding:
            parts.append(f"{key} {decoding[key]}")
    for key in sorted(set(decoding) - {"temperature", "top_p", "max_tokens", "seed", "system_prompt"}):
        parts.append(f"{key} {decoding[key]}")
    system = decoding.get("system_prompt")
    parts.append(f"system prompt: “{system}”" if system else "no system prompt")
    return " · ".join(parts)


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def subject_identity(rec: Mapping) -> dict:
    """Who answered a response record: model asked for and reported, endpoint, decoding, weights.

    A loopback endpoint counts without its port (a local server restarts on a free port); the
    weights' SHA-256, when recorded, names a model the toolkit served itself.
    """
    if rec.get("kind") == "imported":
        source = rec.get("source") or {}
        return {"model": rec.get("model"), "reported": source.get("reported_model"), "source": source.get("format")}
    endpoint = rec.get("endpoint")
    host = urlsplit(endpoint).hostname if endpoint else None
    if host in LOOPBACK or (host and f"[{host}]" in LOOPBACK):
        endpoint = "local"
    return {
        "model": rec.get("model"),
        "reported": (rec.get("response") or {}).get("model_reported"),
        "endpoint": endpoint,
        "decoding": rec.get("decoding"),
        "weights_sha256": rec.get("weights_sha256"),
    }


def current_versions() -> dict[str, str]:
    """Package versions of the environment that builds the report."""
    versions = package_versions()
    for name in ("matplotlib", "beautifulsoup4"):
        try:
            versions.setdefault(name, metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    return versions


def collect_provenance(results: Sequence[VerifiedLog]) -> dict:
    """Where every response came from: per log, per model, probe sets, time range, versions; from the
    records the verifier parsed (no log is read again)."""
    logs, probe_sets, imports, commands = [], {}, [], []
    models: dict[str, dict] = defaultdict(
        lambda: {
            "model_ids": set(),
            "reported": Counter(),
            "endpoints": set(),
            "providers": set(),
            "decodings": set(),
            "responses": 0,
            "imported": 0,
            "errors": 0,
            "final_errors": 0,
            "empty": 0,
            "first": None,
            "last": None,
            "logs": set(),
            "sources": set(),
        }
    )
    versions: dict[str, set] = defaultdict(set)
    stamps: list[str] = []
    for result in results:
        path = Path(result.path)
        records = result.records
        kinds = Counter(r.get("kind", "?") for r in records)
        labels = sorted({r["label"] for r in records if r.get("label") and r.get("kind") in ("response", "imported")})
        logs.append(
            {
                "path": str(path),
                "sha256": result.sha256,
                "head": result.head,
                "n_records": result.n_records,
                "ok": result.ok,
                "status": "verified" if result.ok else "FAILED",
                "seal_status": result.seal_status() if result.ok else "FAILED",
                "key_fingerprints": result.key_fingerprints,
                "kinds": sorted(kinds.items()),
                "labels": labels,
            }
        )
        for rec in records:
            kind = rec.get("kind")
            ts = rec.get("timestamp")
            if isinstance(ts, str) and kind in ("response", "error"):
                stamps.append(ts)  # when exchanges happened; run headers and imports are not exchanges
            label = rec.get("label")
            if kind == "run":
                for name, value in (rec.get("versions") or {}).items():
                    versions[name].add(str(value))
                if rec.get("command"):
                    cmd = rec["command"]
                    commands.append(" ".join(map(shlex.quote, cmd)) if isinstance(cmd, list) else str(cmd))
                for ps in rec.get("probe_sets") or ():
                    entry = probe_sets.setdefault(
                        (ps.get("name"), ps.get("version")),
                        {
                            "name": ps.get("name"),
                            "version": ps.get("version"),
                            "probes": ps.get("probes"),
                            "labels": set(),
                        },
                    )
                    if label:
                        entry["labels"].add(label)
            if kind == "import":
                imports.append(
                    {
                        "format": rec.get("format"),
                        "source": rec.get("source"),
                        "files": sorted((rec.get("files") or {}).items()),
                        "timestamp": ts,
                        "log": str(path),
                    }
                )
            if not label or kind not in ("run", "response", "imported", "error"):
                continue
            m = models[label]
            m["logs"].add(str(path))
            if rec.get("model"):
                m["model_ids"].add(str(rec["model"]))
            if rec.get("endpoint"):
                m["endpoints"].add(str(rec["endpoint"]))
            if rec.get("provider"):
                m["providers"].add(str(rec["provider"]))
            if rec.get("decoding") is not None:
                m["decodings"].add(canonical_json(rec["decoding"]))
            if kind in ("response", "imported", "error") and isinstance(ts, str):
                m["first"] = ts if m["first"] is None else min(m["first"], ts)
                m["last"] = ts if m["last"] is None else max(m["last"], ts)
            if kind == "response":
                m["responses"] += 1
                reported = (rec.get("response") or {}).get("model_reported")
                m["reported"][str(reported) if reported else "(not reported)"] += 1
                if rec.get("probe_set"):
                    entry = probe_sets.setdefault(
                        (rec["probe_set"], rec.get("probe_set_version")),
                        {
                            "name": rec["probe_set"],
                            "version": rec.get("probe_set_version"),
                            "probes": None,
                            "labels": set(),
                        },
                    )
                    entry["labels"].add(label)
            elif kind == "imported":
                m["imported"] += 1
                source = rec.get("source") or {}
                m["sources"].add(
                    f"{source.get('format', 'import')}: {source.get('file') or source.get('source') or '?'}"
                )
                reported = source.get("reported_model")
                if reported:
                    m["reported"][str(reported)] += 1
            elif kind == "error":
                m["errors"] += 1
                error = rec.get("error") or {}
                if error.get("final"):
                    m["final_errors"] += 1
                    m["empty"] += error.get("kind") == "empty"
    model_rows = []
    for label in sorted(models):
        m = models[label]
        model_rows.append(
            {
                "label": label,
                "model_ids": sorted(m["model_ids"]) or ["(not recorded)"],
                "reported": sorted(m["reported"].items()),
                "endpoints": sorted(m["endpoints"]),
                "providers": sorted(m["providers"]),
                "decodings": [_decoding_text(json.loads(d)) for d in sorted(m["decodings"])] or ["not recorded"],
                "responses": m["responses"],
                "imported": m["imported"],
                "errors": m["errors"],
                "final_errors": m["final_errors"],
                "empty": m["empty"],
                "first": m["first"],
                "last": m["last"],
                "logs": sorted(m["logs"]),
                "sources": sorted(m["sources"]),
            }
        )
    recorded = [{"package": name, "values": sorted(values)} for name, values in sorted(versions.items())]
    return {
        "logs": logs,
        "models": model_rows,
        "probe_sets": [
            {**v, "labels": sorted(v["labels"])}
            for _, v in sorted(probe_sets.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))
        ],
        "imports": imports,
        "commands": sorted(set(commands)),
        "time_range": (min(stamps), max(stamps)) if stamps else (None, None),
        "recorded_versions": recorded,
        "current_versions": sorted(current_versions().items()),
    }
