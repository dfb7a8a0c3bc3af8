"""The report's digest: plain, JSON-ready data built from verdicts and provenance, and its rendering.

Computing and presenting never mix: :func:`build_digest` reads the evidence (provenance, the
answers the report quotes) and the typed results; :func:`render_digest` turns the digest alone
into HTML, so ``forensics report --from-digest DIGEST.json`` rebuilds a report without the
evidence, the models or the analysis.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2

from forensics.corpus import Corpus
from forensics.evidence import (
    VerifiedLog,
    canonical_json,
    check_bytes,
    check_input_file,
    check_output_target,
    collect_provenance,
    sign_bytes,
    write_output_atomic,
)
from forensics.report import plots
from forensics.report.views import (
    FILTERS,
    MAX_SHOWN_CHARS,
    add_figures,
    attribution_view,
    finalize,
    pair_detail,
    pick_examples,
    signals_described,
    slugify,
    verdict_view,
)
from forensics.verdict.summaries import SMALL_PANEL

DIGEST_FORMAT = "forensics.report-digest/1"
TEMPLATE = "report.html.j2"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
TIMESTAMP_ATTR = "data-build-timestamp"


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown label, failing evidence); one line for the user."""


def tool_version() -> str:
    try:
        return metadata.version("distillation-forensics")
    except metadata.PackageNotFoundError:  # a source tree on sys.path without `pip install -e .`
        return "unknown (not installed)"


def _mixed_warnings(mixed: Mapping[str, Sequence[Mapping]]) -> list[str]:
    """Labels the investigator allowed to cover several subjects (--allow-mixed)."""
    return [
        f"Label {label} mixes {len(subjects)} different subjects, allowed by the investigator (--allow-mixed): "
        + "; ".join(
            ", ".join(f"{k}={v}" for k, v in sorted(dict(s).items()) if v not in (None, "", {})) for s in subjects
        )
        + ". Its answers do not come from one model under one setting."
        for label, subjects in sorted(mixed.items())
    ]


def _warnings(verdicts: Sequence[Mapping], provenance: Mapping) -> list[str]:
    """What a legal reader must know before the numbers: mixed decoding, suspects as each other's
    controls, package versions that changed between collection and this report."""
    out = []
    decodings = {m["label"]: tuple(m.get("decodings") or ()) for m in provenance.get("models", ())}
    distinct = {d for d in decodings.values() if d}
    if len(distinct) > 1:
        out.append(
            "The subjects were not all decoded with the same settings ("
            + "; ".join(f"{label}: {', '.join(d)}" for label, d in sorted(decodings.items()) if d)
            + "): differences between them partly reflect decoding, not only the models."
        )
    suspects = {v["suspect"] for v in verdicts}
    for v in verdicts:
        crossed = sorted(suspects & set(v.get("panel") or ()))
        if crossed:
            out.append(
                f"Suspects serve as each other's controls: the panel for {v['suspect']} includes "
                f"{', '.join(crossed)}. If they share a teacher, {v['suspect']}'s test is weakened."
            )
    recorded = {row["package"]: row["values"] for row in provenance.get("recorded_versions", ())}
    current = dict(provenance.get("current_versions", ()))
    changed = sorted(k for k, vals in recorded.items() if current.get(k) and any(x != current[k] for x in vals))
    if changed:
        out.append(
            "Package versions differ between collection and this report: "
            + ", ".join(f"{k} {'/'.join(recorded[k])} then, {current[k]} now" for k in changed)
            + "."
        )
    return out


def signers(verified: Sequence[VerifiedLog]) -> list[dict]:
    """Every key that sealed evidence the report used, with the logs it sealed."""
    found: dict[str, list[str]] = {}
    for r in verified:
        for fp in r.key_fingerprints:
            found.setdefault(fp, []).append(Path(r.path).name)
    return [{"key_fingerprint": fp, "logs": sorted(logs)} for fp, logs in sorted(found.items())]


def _evidence_warnings(verified: Sequence[VerifiedLog], keys: Sequence[Mapping]) -> list[str]:
    out = []
    if len(keys) > 1:
        out.append(
            f"The evidence was sealed by {len(keys)} different keys: "
            + "; ".join(f"{k['key_fingerprint']} ({', '.join(k['logs'])})" for k in keys)
            + ". Check that each key belongs to someone you trust (forensics report --trust KEY...)."
        )
    unsealed = sorted(Path(r.path).name for r in verified if not r.seals)
    if unsealed:
        out.append(f"Unsealed evidence (no key vouches for it): {', '.join(unsealed)}.")
    loose = sorted(Path(r.path).name for r in verified if not r.anchored)
    if loose:
        which = f"any of the {len(loose)} logs" if len(loose) == len(verified) > 3 else ", ".join(loose)
        out.append(
            "Head not anchored: no heads-ledger entry on this machine and no --expect-head for "
            + which
            + "; a log cut back to an earlier seal would look the same. Compare the heads below with those "
            "sent out of band."
        )
    return out


def build_digest(
    verdicts: Sequence[Any],
    verified: Sequence[VerifiedLog],
    corpus: Corpus,
    *,
    attributions: Sequence[Any] = (),
    efficiency: Sequence[Mapping] = (),
    meta: Mapping | None = None,
    command: str | None = None,
    command_exact: bool = True,
    rng_seed: int | None = None,
    statements: Sequence[str] = (),
    engine: Mapping | None = None,
) -> dict:
    """Everything the report shows, as plain data: verdicts (``to_dict(include_null=True)``),
    attributions, the sample-efficiency rows, provenance, the quoted answers, case metadata, every
    key that sealed the evidence, ``statements`` (what the pipeline dropped or ignored) and ``engine``
    (the learned parameters the tests used, with what they were fitted on: ``EngineParams.to_dict()``)."""
    data = [v.to_dict(include_null=True) if hasattr(v, "to_dict") else dict(v) for v in verdicts]
    if not data:
        raise ReportError("no verdicts to report")
    provenance = collect_provenance(list(verified))
    keys = signers(verified)
    examples = {d["suspect"]: pick_examples(corpus, verdict_view(d)) for d in data}
    return {
        "format": DIGEST_FORMAT,
        "meta": dict(meta or {}),
        "tool_version": tool_version(),
        "rng_seed": rng_seed,
        "engine": dict(engine) if engine is not None else None,
        "command": command,
        "command_exact": command_exact,
        "verdicts": data,
        "attributions": [a.to_dict() if hasattr(a, "to_dict") else dict(a) for a in attributions],
        "efficiency": [dict(row) for row in efficiency],
        "examples": examples,
        "corpus": {"models": list(corpus.models), "n_prompts": len(corpus.prompts)},
        "provenance": provenance,
        "seals": [
            {
                "log": Path(r.path).name,
                "head": r.head,
                "n_records": r.n_records,
                "status": r.seal_status(),
                "key_fingerprints": r.key_fingerprints,
                "anchored": r.anchored,
            }
            for r in verified
        ],
        "signers": keys,
        "warnings": [
            *statements,
            *_evidence_warnings(verified, keys),
            *_warnings(data, provenance),
            *_mixed_warnings(getattr(corpus, "mixed", {})),
            *getattr(corpus, "notes", ()),
        ],
    }


def _signed_body(digest: Mapping) -> bytes:
    return canonical_json({k: v for k, v in digest.items() if k not in ("signature", "origin")}).encode("utf-8")


def write_digest(digest: Mapping, path: Path | str) -> Path:
    """Write the digest, signed by the investigator's key, through the output guard."""
    body = {k: v for k, v in digest.items() if k not in ("signature", "origin")}
    signed = {**body, "signature": sign_bytes(_signed_body(body))}
    text = json.dumps(signed, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return write_output_atomic(path, text, suffixes=(".json",))


def read_digest(path: Path | str, trust: Sequence[str] | None = None) -> dict:
    """A digest written by :func:`write_digest`, with its ``origin``: the file's SHA-256 and, when its
    signature holds, the signer; refuses anything else, naming the file. With ``trust`` the digest
    must be signed by a trusted key."""
    path = Path(path)
    try:
        data = check_input_file(path, "report digest", max_bytes=1 << 30).read_bytes()
        digest = json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable report digest ({exc})") from None
    if not isinstance(digest, dict) or digest.get("format") != DIGEST_FORMAT:
        raise ReportError(f"{path}: not a report digest (expected format {DIGEST_FORMAT})")
    problem = check_bytes(digest.get("signature"), _signed_body(digest))
    signer = None if problem else digest["signature"]["key_fingerprint"]
    if trust is not None and signer not in set(trust):
        why = problem or f"signed by {signer}, which is not a trusted key"
        raise ReportError(f"{path}: refusing to render this digest under --trust: {why}")
    digest["origin"] = {"sha256": hashlib.sha256(data).hexdigest(), "signer": signer, "problem": problem}
    return digest


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.finalize = finalize
    return env


def _build_time(build_time: datetime | None) -> str:
    if build_time is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        build_time = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    return build_time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _versions_table(provenance: Mapping) -> list[tuple[str, tuple[list[str], str | None]]]:
    recorded = {row["package"]: row["values"] for row in provenance["recorded_versions"]}
    current = dict(provenance["current_versions"])
    return [(name, (recorded.get(name, []), current.get(name))) for name in sorted(set(recorded) | set(current))]


def render_digest(digest: Mapping, out: Path | str = "report.html", *, build_time: datetime | None = None) -> Path:
    """Render a digest into one self-contained HTML file ``out`` (written atomically)."""
    views = [verdict_view(d) for d in digest["verdicts"]]
    references = sorted({v["reference"] for v in views})
    rng_seed = digest.get("rng_seed")
    if rng_seed is None and len({repr(v["seed"]) for v in views}) == 1:
        rng_seed = views[0]["seed"]
    slugs: set[str] = set()
    for view in views:
        slug = base = slugify(view["suspect"])
        while slug in slugs:
            slug = f"{base}-{len(slugs) + 1}"
        slugs.add(slug)
        view["slug"] = slug
        view["panel_small"] = len(view["units"]) < SMALL_PANEL
        view["pair_detail"] = pair_detail(view)
        view["examples"] = digest["examples"].get(view["suspect"], [])
        view["any_defined"] = any(f["defined"] for f in view["findings"])
        add_figures(view)
    attribution_views = [attribution_view(a) for a in digest["attributions"]]
    for a in attribution_views:
        a["plot"] = plots.data_uri(plots.attribution_plot(a)) if a["ranking"] else None
    heatmap = (
        plots.data_uri(plots.attribution_heatmap(attribution_views))
        if any(a["ranking"] for a in attribution_views)
        else None
    )
    efficiency = list(digest.get("efficiency") or ())
    provenance = digest["provenance"]
    suspects = [v["suspect"] for v in views]
    meta = {k: None for k in ("title", "case_id", "investigator", "purpose", "case_dir", "verify_command")}
    meta.update(digest.get("meta") or {})
    context = {
        "title": meta.get("title") or f"Distillation forensics: {', '.join(suspects)} against {', '.join(references)}",
        "meta": meta,
        "csp": CSP,
        "timestamp_attr": TIMESTAMP_ATTR,
        "build_time": _build_time(build_time),
        "references": references,
        "suspects": suspects,
        "views": views,
        "attributions": attribution_views,
        "attribution_by_suspect": {a["suspect"]: a for a in attribution_views},
        "candidates": sorted({r["candidate"] for a in attribution_views for r in a["ranking"]}),
        "heatmap": heatmap,
        "efficiency": efficiency,
        "efficiency_plot": plots.data_uri(plots.efficiency_plot(efficiency)) if efficiency else None,
        "warnings": list(digest.get("warnings") or ()),
        "seals": list(digest.get("seals") or ()),
        "signers": list(digest.get("signers") or ()),
        "origin": digest.get("origin"),
        "corpus": {
            **digest["corpus"],
            "prompts_analysed": sorted({v["n_prompts"] for v in views if v["n_prompts"] is not None}),
        },
        "provenance": provenance,
        "command": digest.get("command") or "",
        "command_exact": digest.get("command_exact", True),
        "case_dir": meta.get("case_dir"),
        "verify_command": meta.get("verify_command") or "",
        "rng_seed": rng_seed,
        "engine": digest.get("engine"),
        "small_panel": SMALL_PANEL,
        "max_shown": MAX_SHOWN_CHARS,
        "tool_version": digest.get("tool_version") or tool_version(),
        "signals": signals_described(views),
        "versions": _versions_table(provenance),
    }
    html = _environment().get_template(TEMPLATE).render(**context)
    return write_output_atomic(out, html, suffixes=HTML_SUFFIXES)


HTML_SUFFIXES = (".html", ".htm")


def check_report_targets(out: Path | str, digest_out: Path | str | None = None) -> None:
    """Fail before any analysis when the report or its digest could not or must not be written."""
    check_output_target(out, suffixes=HTML_SUFFIXES)
    if digest_out is not None:
        check_output_target(digest_out, suffixes=(".json",))
