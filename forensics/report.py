"""``forensics report``: one self-contained HTML evidence report, rebuilt from evidence alone.

The report is built in three steps that never mix:

1. every evidence log is verified (a log whose hash chain fails is refused, by name);
2. the analysis engine (:func:`forensics.verdict.analyse`) computes one verdict per suspect
   with a fixed seed; this module computes no statistic itself;
3. the verdicts, the evidence's provenance and the cited responses are rendered with Jinja2
   (autoescaping on, no script anywhere, a Content-Security-Policy that forbids every load
   except inline ``data:`` images), into one file that opens offline.

Building twice from the same evidence gives the same bytes apart from the single line that
carries the build time (``data-build-timestamp``). :func:`render_report` renders verdicts that
were computed elsewhere (e.g. in the investigation notebook) without recomputing them.

Everything the report shows about a verdict goes through :func:`_verdict_view`, the one place
that knows the engine's attribute names.
"""
from __future__ import annotations

import inspect
import json
import math
import os
import re
import shlex
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from forensics.evidence import EvidenceError, VerifyResult, canonical_json, iter_logs, read_records, verify
from forensics.importers import file_sha256

TEMPLATE = "report.html.j2"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
TIMESTAMP_ATTR = "data-build-timestamp"
SMALL_PANEL = 3  # fewer panel members than this and the report warns that the calibration is thin
EXAMPLES_PER_SUSPECT = 3
MAX_SHOWN_CHARS = 2400  # longer texts are cut in the side-by-side view, saying so and citing the record
LABEL_CLASSES = {
    "same model or direct derivative": "same",
    "distilled from R": "distilled",
    "no evidence of distillation from R": "none",
}

# Names and plain-words explanations of the engine's signals (forensics.signals.SIGNALS), for
# readers who are not statisticians. The one-line technical description travels with each result.
SIGNAL_TITLES = {
    "embedding": "Meaning of answers",
    "fingerprint": "House-style fingerprint",
    "style": "Formatting and wording habits",
    "refusal": "Refusals",
    "idiosyncratic": "Shared mistakes and rare wording",
    "identity": "Claimed identity",
}
SIGNAL_DESCRIPTIONS = {
    "embedding": "How similar in meaning the suspect's answer is to the reference's answer to the same prompt, "
                 "after subtracting what every model says to that prompt (so that agreeing on the obvious does "
                 "not count). Measured with sentence embeddings.",
    "fingerprint": "Whether the suspect's answers carry the reference's consistent 'house style' in meaning space: "
                   "the direction in which the reference's answers differ from other models' answers across all "
                   "prompts, and how far the suspect's answers lean the same way.",
    "style": "How close the suspect's formatting and wording habits are to the reference's on the same prompt: "
             "length, markdown, lists, stock openers (\u201cCertainly!\u201d) and closers (\u201cI hope this helps\u201d).",
    "refusal": "Whether the suspect refuses the same prompts as the reference, and in the same words. A student "
               "trained on a teacher's outputs inherits its refusals and its stock refusal phrases.",
    "idiosyncratic": "Where the reference gets an answer-keyed question wrong, whether the suspect gives the same "
                     "wrong answer (shared mistakes are a strong trace of copying); without answer keys, how much "
                     "rare, specific wording the suspect shares with the reference that other models do not use.",
    "identity": "Whether the suspect, asked who it is, claims to be made by the reference's vendor. Students "
                "often repeat their teacher's self-description.",
    "combined": "All signals together: each signal's model-level closeness is standardised over the suspect and "
                "the panel, averaged with weights, and the suspect's average is tested against the panel's.",
}


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown label, failing evidence); one line for the user."""


# ---------------------------------------------------------------------------------------------
# Evidence and provenance
# ---------------------------------------------------------------------------------------------

def verify_evidence(paths: Iterable[Path | str]) -> list[VerifyResult]:
    """Expand folders, verify every log; refuse (naming the log) when any fails or is missing."""
    paths = list(paths)
    logs = list(iter_logs(paths))
    if not logs:
        raise ReportError(f"no evidence logs found in {' '.join(map(str, paths)) or '(nothing given)'}")
    results = []
    for log in logs:
        if not log.is_file():
            raise ReportError(f"{log}: no such evidence log")
        result = verify(log)
        if not result.ok:
            raise EvidenceError(f"refusing to report on evidence that fails verification: {result.describe()}")
        results.append(result)
    return results


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


def current_versions() -> dict[str, str]:
    """Package versions of the environment that builds the report."""
    from forensics.collection import package_versions

    versions = package_versions()
    for name in ("matplotlib", "beautifulsoup4"):
        try:
            versions.setdefault(name, metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    return versions


def collect_provenance(results: Sequence[VerifyResult]) -> dict:
    """Where every response came from: per log, per model, probe sets, time range, versions."""
    logs, probe_sets, imports, commands = [], {}, [], []
    models: dict[str, dict] = defaultdict(lambda: {
        "model_ids": set(), "reported": Counter(), "endpoints": set(), "providers": set(), "decodings": set(),
        "responses": 0, "imported": 0, "errors": 0, "final_errors": 0, "first": None, "last": None,
        "logs": set(), "sources": set()})
    versions: dict[str, set] = defaultdict(set)
    stamps: list[str] = []
    for result in results:
        path = Path(result.path)
        records = read_records(path, check=False)  # verified just before
        kinds = Counter(r.get("kind", "?") for r in records)
        labels = sorted({r["label"] for r in records if r.get("label") and r.get("kind") in ("response", "imported")})
        logs.append({"path": str(path), "sha256": file_sha256(path), "head": result.head,
                     "n_records": result.n_records, "ok": result.ok, "status": "verified" if result.ok else "FAILED",
                     "kinds": sorted(kinds.items()), "labels": labels})
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
                    entry = probe_sets.setdefault((ps.get("name"), ps.get("version")),
                                                  {"name": ps.get("name"), "version": ps.get("version"),
                                                   "probes": ps.get("probes"), "labels": set()})
                    if label:
                        entry["labels"].add(label)
            if kind == "import":
                imports.append({"format": rec.get("format"), "source": rec.get("source"),
                                "files": sorted((rec.get("files") or {}).items()), "timestamp": ts, "log": str(path)})
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
                    entry = probe_sets.setdefault((rec["probe_set"], rec.get("probe_set_version")),
                                                  {"name": rec["probe_set"], "version": rec.get("probe_set_version"),
                                                   "probes": None, "labels": set()})
                    entry["labels"].add(label)
            elif kind == "imported":
                m["imported"] += 1
                source = rec.get("source") or {}
                m["sources"].add(f"{source.get('format', 'import')}: {source.get('file') or source.get('source') or '?'}")
                reported = source.get("reported_model")
                if reported:
                    m["reported"][str(reported)] += 1
            elif kind == "error":
                m["errors"] += 1
                if (rec.get("error") or {}).get("final"):
                    m["final_errors"] += 1
    model_rows = []
    for label in sorted(models):
        m = models[label]
        model_rows.append({
            "label": label, "model_ids": sorted(m["model_ids"]) or ["(not recorded)"],
            "reported": sorted(m["reported"].items()), "endpoints": sorted(m["endpoints"]),
            "providers": sorted(m["providers"]),
            "decodings": [_decoding_text(json.loads(d)) for d in sorted(m["decodings"])] or ["not recorded"],
            "responses": m["responses"], "imported": m["imported"], "errors": m["errors"],
            "final_errors": m["final_errors"], "first": m["first"], "last": m["last"],
            "logs": sorted(m["logs"]), "sources": sorted(m["sources"])})
    recorded = [{"package": name, "values": sorted(values)} for name, values in sorted(versions.items())]
    return {
        "logs": logs,
        "models": model_rows,
        "probe_sets": [{**v, "labels": sorted(v["labels"])} for _, v in sorted(probe_sets.items(), key=lambda kv: (
            str(kv[0][0]), str(kv[0][1])))],
        "imports": imports,
        "commands": sorted(set(commands)),
        "time_range": (min(stamps), max(stamps)) if stamps else (None, None),
        "recorded_versions": recorded,
        "current_versions": sorted(current_versions().items()),
    }


def rebuild_command(evidence_paths: Sequence[Path | str], reference: str, suspects: Sequence[str],
                    panel: Sequence[str] | None, seed: int, out: Path | str,
                    candidates: Sequence[str] | None = None, replicates: Sequence[str] | None = None) -> str:
    """The exact command line that rebuilds this report from the same evidence."""
    parts = ["forensics", "report", *map(str, evidence_paths), "--reference", reference]
    for s in suspects:
        parts += ["--suspect", s]
    for p in panel or ():
        parts += ["--panel", p]
    for r in replicates or ():
        parts += ["--replicate", r]
    for c in candidates or ():
        parts += ["--candidate", c]
    parts += ["--seed", str(seed), "--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


# ---------------------------------------------------------------------------------------------
# The one adapter between the analysis engine's result objects and the report
# ---------------------------------------------------------------------------------------------

def _num(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _seed(rng_state: Mapping | None):
    """The seed a result's generator was made from (``rng_state`` recorded by the statistics)."""
    return (rng_state or {}).get("seed_entropy")


def _finding_view(finding: Any, test: Any | None, alpha: float) -> dict:
    """One :class:`forensics.verdict.Finding` joined with its :class:`forensics.statistics.SignalTest`."""
    name = str(finding.signal)
    ci = tuple(finding.ci) if finding.ci is not None else (None, None)
    pairs = [tuple(pair) for pair in (finding.records or ())]
    return {
        "signal": name,
        "title": SIGNAL_TITLES.get(name, name),
        "description": finding.description or None,
        "defined": bool(finding.defined),
        "note": finding.note or "",
        "supports": bool(finding.supports),
        "statistic": _num(finding.statistic),
        "effect_size": _num(finding.effect_size),
        "ci": (_num(ci[0]), _num(ci[1])),
        "p_value": _num(finding.p_value),
        "alpha": alpha,
        "ci_level": _num(getattr(test, "ci_level", None)),
        "n_resamples": getattr(test, "n_resamples", None),
        "seed": _seed(getattr(test, "rng_state", None)),
        "n_prompts": getattr(test, "n_prompts", None),
        "suspect_value": _num(getattr(test, "suspect_value", None)),
        "panel_values": {str(k): _num(v) for k, v in sorted((getattr(test, "panel_values", None) or {}).items())},
        "prompt_ids": list(finding.prompt_ids or ()),
        "suspect_records": [pair[0] if len(pair) > 0 else None for pair in pairs],
        "reference_records": [pair[1] if len(pair) > 1 else None for pair in pairs],
        "records": [h for pair in pairs for h in pair[:1] if h],
        "test": test,  # the result object itself, for the plots
    }


def _verdict_view(verdict: Any) -> dict:
    """Everything the report reads from one :class:`forensics.verdict.Verdict`, under the report's own names.

    This is the one place that knows the analysis engine's attribute names.
    """
    test = verdict.test
    tests = {t.name: t for t in getattr(test, "signals", ())}
    weights = dict(getattr(test, "weights", {}) or {})
    findings = []
    for f in verdict.findings:
        view = _finding_view(f, tests.get(f.signal), verdict.alpha)
        view["weight"] = _num(weights.get(f.signal))
        findings.append(view)
    sm = dict(verdict.same_model or {})
    ci = tuple(verdict.ci) if verdict.ci is not None else (None, None)
    rep = getattr(verdict, "replicate", None)
    return {
        "reference": str(verdict.reference),
        "suspect": str(verdict.suspect),
        "panel": list(map(str, verdict.panel)),
        "label": str(verdict.label),
        "label_class": LABEL_CLASSES.get(str(verdict.label), "none"),
        "testable": _num(verdict.p_value) is not None,
        "basis": str(getattr(verdict, "basis", "panel")),
        "strength": str(verdict.strength),
        "p_value": _num(verdict.p_value),
        "statistic": _num(verdict.statistic),
        "effect_size": _num(verdict.effect_size),
        "ci": (_num(ci[0]), _num(ci[1])),
        "ci_level": _num(getattr(test, "ci_level", None)),
        "alpha": verdict.alpha,
        "n_prompts": verdict.n_prompts,
        "n_resamples": getattr(test, "n_resamples", None),
        "n_panel_units": getattr(test, "n_panel", None),
        "seed": _seed(getattr(test, "rng_state", None)),
        "rng_state": dict(getattr(test, "rng_state", {}) or {}),
        "method": getattr(test, "method", None),
        "set_aside": list(getattr(test, "set_aside", ()) or ()),
        "notes": list(verdict.notes or ()),
        "same_model": {
            "share": _num(sm.get("share")), "threshold": _num(sm.get("threshold")),
            "panel_max": _num(sm.get("panel_max")), "exact_share": _num(sm.get("exact_share")),
            "n_prompts": sm.get("n_prompts"),
            "panel_shares": sorted((str(k), _num(v)) for k, v in (sm.get("panel_shares") or {}).items()),
        },
        "combined": {"defined": _num(getattr(test, "statistic", None)) is not None,
                     "statistic": _num(getattr(test, "statistic", None)), "p_value": _num(getattr(test, "p_value", None)),
                     "effect_size": _num(getattr(test, "effect_size", None)),
                     "ci": tuple(_num(x) for x in (getattr(test, "ci", None) or (None, None)))},
        "replicate": None if rep is None else {
            "replicates": list(map(str, rep.replicates)), "controls": list(map(str, rep.controls)),
            "defined": bool(rep.defined), "note": rep.note or "", "statistic": _num(rep.statistic),
            "p_value": _num(rep.p_value), "relative_closeness": _num(rep.relative_closeness),
            "ci": tuple(_num(x) for x in rep.ci), "self_share": _num(rep.self_share), "gap": _num(rep.gap),
            "gap_ci": tuple(_num(x) for x in rep.gap_ci), "suspect_closeness": _num(rep.suspect_closeness),
            "replicate_closeness": _num(rep.replicate_closeness), "control_closeness": _num(rep.control_closeness),
            "n_prompts": rep.n_prompts, "n_resamples": rep.n_resamples, "seed": _seed(rep.rng_state),
            "method": rep.method, "test": rep},
        "findings": findings,
        "raw_findings": list(verdict.findings),  # result objects, for the plots
        "test": test,  # the combined result object, for its plot
    }


def _attribution_view(attribution: Any) -> dict:
    """One :class:`forensics.verdict.Attribution`: candidates ranked, Holm-adjusted."""
    rows = [{"candidate": str(c.candidate), "statistic": _num(c.statistic), "effect_size": _num(c.effect_size),
             "p_value": _num(c.p_value), "p_holm": _num(c.p_holm), "supported": bool(c.supported),
             "label": str(c.verdict.label)} for c in attribution.ranking]
    return {"suspect": str(attribution.suspect), "ranking": rows, "answer": str(attribution.answer),
            "alpha": attribution.alpha}


# ---------------------------------------------------------------------------------------------
# Presenting model text
# ---------------------------------------------------------------------------------------------

# Controls, zero-width and bidirectional-override characters could hide or reorder text on screen
# (a "Trojan Source" display); they are shown as visible code points instead.
_INVISIBLE = re.compile("[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\u007f-\u009f\u00ad\u061c\u180e"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")


def visible(text: Any) -> str:
    """Text with every invisible or direction-changing character written as ⟨U+XXXX⟩."""
    text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n")
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def _shown(text: str | None, limit: int = MAX_SHOWN_CHARS) -> dict:
    """Text to show, cut at ``limit`` characters (the template says so and cites the record)."""
    text = "" if text is None else text
    cut = len(text) > limit
    return {"text": visible(text[:limit]), "truncated": cut, "total": len(text)}


def _example(corpus, prompt_id: str, view: dict, finding: dict, position: int) -> dict | None:
    reference, suspect = view["reference"], view["suspect"]
    if not (corpus.text(reference, prompt_id) or "").strip() or not (corpus.text(suspect, prompt_id) or "").strip():
        return None
    # The contrast is the panel member closest to R on this signal overall: the fairest comparison,
    # not the most different answer one could find.
    ranked = sorted(finding["panel_values"].items(), key=lambda kv: (-(kv[1] if kv[1] is not None else -math.inf),
                                                                      kv[0]))
    order = [m for m, _ in ranked if m in view["panel"]] + sorted(view["panel"])
    contrast = next((m for m in order if (corpus.text(m, prompt_id) or "").strip()), None)
    cited = {suspect: finding["suspect_records"][position] if position < len(finding["suspect_records"]) else None,
             reference: finding["reference_records"][position] if position < len(finding["reference_records"]) else None}

    def side(model: str) -> dict:
        return {"model": model, **_shown(corpus.text(model, prompt_id)),
                "record": cited.get(model) or corpus.record(model, prompt_id) or ""}

    rank = "" if position == 0 else f" (its no. {position + 1})"
    why = f"the prompt where the suspect stands out most from the panel on {finding['title'].lower()}{rank}"
    return {"prompt_id": prompt_id, "prompt": _shown(corpus.prompts.get(prompt_id, ""), 1200), "why": why,
            "family": (corpus.meta.get(prompt_id) or {}).get("family"), "signal": finding["title"],
            "reference": side(reference), "suspect": side(suspect), "panel": side(contrast) if contrast else None}


def _pick_examples(corpus, view: dict, k: int = EXAMPLES_PER_SUSPECT) -> list[dict]:
    """The most telling prompts, as the findings cite them: each finding lists the prompts where the
    suspect exceeds the panel most; supporting findings first, most significant first."""
    order = sorted((f for f in view["findings"] if f["defined"] and f["prompt_ids"]),
                   key=lambda f: (not f["supports"], f["p_value"] if f["p_value"] is not None else 2.0, f["signal"]))
    chosen, seen = [], set()
    for finding in order:
        for position, pid in enumerate(finding["prompt_ids"]):
            if pid in seen:
                continue
            example = _example(corpus, pid, view, finding, position)
            if example:
                chosen.append(example)
                seen.add(pid)
                break
        if len(chosen) >= k:
            break
    return chosen


# ---------------------------------------------------------------------------------------------
# Formatting filters
# ---------------------------------------------------------------------------------------------

def _fmt_p(p) -> str:
    p = _num(p)
    if p is None:
        return "n/a"
    if p == 0:
        return "0 (below resolution)"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3f}"


def _fmt_num(x, digits: int = 3) -> str:
    x = _num(x)
    if x is None:
        return "n/a"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.2e}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def _short(h, n: int = 12) -> str:
    return str(h or "")[:n]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("forensics", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(p=_fmt_p, num=_fmt_num, short=_short, slug=_slug, visible=visible)
    return env


# ---------------------------------------------------------------------------------------------
# Rendering and building
# ---------------------------------------------------------------------------------------------

def _build_time(build_time: datetime | None) -> str:
    if build_time is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        build_time = (datetime.fromtimestamp(int(epoch), timezone.utc) if epoch and epoch.isdigit()
                      else datetime.now(timezone.utc))
    return build_time.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _figures(view: dict) -> None:
    """Plots of the result objects themselves (forensics.plots), embedded as data: URIs."""
    from forensics import plots

    for f in view["findings"]:
        f["plot"] = None
        if f["test"] is None or not f["defined"]:
            continue
        f["plot"] = plots.data_uri(plots.signal_plot(f["test"], suspect=view["suspect"], reference=view["reference"],
                                                     title=f["title"]))
        f["plot_alt"] = (f"{f['title']}: test statistic {_fmt_num(f['statistic'])} of {view['suspect']} against "
                         f"its null distribution (p = {_fmt_p(f['p_value'])}), and the model-level closeness to "
                         f"{view['reference']} of the suspect and of each panel member")
    view["combined_plot"] = None
    if _num(getattr(view["test"], "statistic", None)) is not None:
        view["combined_plot"] = plots.data_uri(plots.signal_plot(
            view["test"], suspect=view["suspect"], reference=view["reference"], title="All signals combined"))
    if view["replicate"] is not None:
        view["replicate"]["plot"] = plots.data_uri(plots.replicate_plot(
            view["replicate"]["test"], suspect=view["suspect"], reference=view["reference"]))
    view["effects_plot"] = None
    if any(f["effect_size"] is not None for f in view["findings"]):
        view["effects_plot"] = plots.data_uri(plots.effect_sizes_plot(
            view["raw_findings"], suspect=view["suspect"], names=SIGNAL_TITLES))


def render_report(verdicts: Sequence[Any], evidence_paths: Sequence[Path | str], out: Path | str = "report.html", *,
                  corpus=None, attributions: Sequence[Any] | None = None, rng_seed: int | None = None,
                  command: str | None = None, title: str | None = None, build_time: datetime | None = None,
                  verified: Sequence[VerifyResult] | None = None) -> Path:
    """Render already computed verdicts (one per suspect) into a self-contained ``out`` HTML file.

    ``evidence_paths`` are the logs the verdicts were computed from: they are verified again
    and described in the provenance section, and the cited responses are read from them.
    """
    from forensics.corpus import load_evidence

    results = list(verified) if verified is not None else verify_evidence(evidence_paths)
    if corpus is None:
        corpus = load_evidence([r.path for r in results])
    views = [_verdict_view(v) for v in verdicts]
    if not views:
        raise ReportError("no verdicts to report")
    references = sorted({v["reference"] for v in views})
    if rng_seed is None and len({repr(v["seed"]) for v in views}) == 1:
        rng_seed = views[0]["seed"]
    slugs: set[str] = set()
    for view in views:
        slug = base = _slug(view["suspect"])
        while slug in slugs:
            slug = f"{base}-{len(slugs) + 1}"
        slugs.add(slug)
        view["slug"] = slug
        view["panel_small"] = len(view["panel"]) < SMALL_PANEL
        view["examples"] = _pick_examples(corpus, view)
        _figures(view)
    from forensics import plots

    attribution_views = []
    for attribution in attributions or ():
        a = _attribution_view(attribution)
        a["plot"] = plots.data_uri(plots.attribution_plot(attribution)) if a["ranking"] else None
        attribution_views.append(a)
    provenance = collect_provenance(results)
    suspects = [v["suspect"] for v in views]
    command_exact = True
    if command is None:
        command, command_exact = _inferred_command(views, evidence_paths, corpus.models, rng_seed, out)
    prompts_analysed = sorted({n for v in views for n in [v["n_prompts"]] if n is not None})
    context = {
        "title": title or f"Distillation forensics: {', '.join(suspects)} against {', '.join(references)}",
        "csp": CSP,
        "timestamp_attr": TIMESTAMP_ATTR,
        "build_time": _build_time(build_time),
        "references": references,
        "suspects": suspects,
        "views": views,
        "attributions": attribution_views,
        "corpus": {"models": corpus.models, "n_prompts": len(corpus.prompts),
                   "prompts_analysed": prompts_analysed},
        "provenance": provenance,
        "command": command,
        "command_exact": command_exact,
        "relative_paths": any(not Path(p).is_absolute() for p in evidence_paths),
        "verify_command": " ".join(shlex.quote(x) for x in ["forensics", "verify", *(log["path"] for log in
                                                                                provenance["logs"])]),
        "rng_seed": rng_seed,
        "small_panel": SMALL_PANEL,
        "max_shown": MAX_SHOWN_CHARS,
        "tool_version": _tool_version(),
        "signals": _signals_described(views),
        "versions": _versions_table(provenance),
    }
    html = _environment().get_template(TEMPLATE).render(**context)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out


def _inferred_command(views: Sequence[dict], evidence_paths, models: Sequence[str], rng_seed, out) -> tuple[str, bool]:
    """The ``forensics report`` command that recomputes verdicts computed elsewhere, and whether
    it reproduces them exactly (one reference, one panel shared by every suspect, one seed)."""
    reference = views[0]["reference"]
    suspects = [v["suspect"] for v in views]
    union = sorted({m for v in views for m in v["panel"]})
    exact = len({v["reference"] for v in views}) == 1 and rng_seed is not None and all(
        sorted(v["panel"]) == [m for m in union if m != v["suspect"]] for v in views)
    replicates = sorted({m for v in views if v["replicate"] for m in v["replicate"]["replicates"]})
    exact = exact and all(sorted(v["replicate"]["replicates"] if v["replicate"] else []) == replicates for v in views)
    defaults = all(sorted(v["panel"]) == default_panel(models, reference, v["suspect"], replicates) for v in views)
    command = rebuild_command([str(p) for p in evidence_paths], reference, suspects, None if defaults else union,
                              rng_seed if rng_seed is not None else 0, out, replicates=replicates)
    return command, exact


def _signals_described(views: Sequence[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for view in views:
        for f in view["findings"]:
            seen.setdefault(f["signal"], {"name": f["signal"], "title": f["title"],
                                          "description": SIGNAL_DESCRIPTIONS.get(f["signal"], f["description"])
                                          or "(no description given)"})
    seen["combined"] = {"name": "combined", "title": "All signals combined",
                        "description": SIGNAL_DESCRIPTIONS["combined"]}
    return list(seen.values())


def _versions_table(provenance: dict) -> list[tuple[str, tuple[list[str], str | None]]]:
    recorded = {row["package"]: row["values"] for row in provenance["recorded_versions"]}
    current = dict(provenance["current_versions"])
    return [(name, (recorded.get(name, []), current.get(name))) for name in sorted(set(recorded) | set(current))]


def _tool_version() -> str:
    try:
        return metadata.version("distillation-forensics")
    except metadata.PackageNotFoundError:
        from forensics import __version__

        return __version__


def check_labels(models: Sequence[str], reference: str, suspects: Sequence[str], panel: Sequence[str] | None,
                 candidates: Sequence[str] | None = None, replicates: Sequence[str] | None = None) -> None:
    """Every label named must be in the evidence; one line naming the bad label and the known ones."""
    known = set(models)
    listed = ", ".join(sorted(known)) or "(none)"
    for role, names in (("reference", [reference]), ("suspect", suspects), ("panel", panel or ()),
                        ("candidate", candidates or ()), ("replicate", replicates or ())):
        for name in names:
            if name not in known:
                raise ReportError(f"unknown {role} label '{name}' (labels in the evidence: {listed})")
    if not suspects:
        raise ReportError("name at least one --suspect")
    if reference in suspects:
        raise ReportError(f"'{reference}' is both the reference and a suspect")
    if panel and reference in panel:
        raise ReportError(f"the panel must not include the reference '{reference}'")
    for name in replicates or ():
        if name in suspects or name in (panel or ()):
            raise ReportError(f"'{name}' is a replicate of the reference and cannot also be a suspect or panel model")


def default_panel(models: Sequence[str], reference: str, suspect: str,
                  replicates: Sequence[str] | None = None) -> list[str]:
    """Every other label in the evidence: not the reference, its replicates, or the suspect being analysed."""
    return sorted(m for m in models if m not in (reference, suspect, *(replicates or ())))


def build_report(evidence_paths: Sequence[Path | str], reference: str, suspects: Sequence[str] | str,
                 panel: Sequence[str] | None = None, out: Path | str = "report.html", rng_seed: int = 0, *,
                 candidates: Sequence[str] | None = None, replicates: Sequence[str] | None = None,
                 title: str | None = None, build_time: datetime | None = None,
                 analyse_options: Mapping | None = None) -> Path:
    """Verify the evidence, analyse each suspect against ``reference``, and write ``out``.

    Each suspect is analysed with its own ``numpy.random.default_rng(rng_seed)``, so a suspect's
    numbers do not depend on which other suspects share the report and can be reproduced alone
    with ``verdict.analyse(corpus, reference, suspect, panel, rng=default_rng(rng_seed))``.
    ``panel`` defaults, per suspect, to every other label in the evidence (an explicit panel that
    holds only the suspect leaves it none, and its verdict says nothing could be tested). ``replicates``: labels
    of the reference sampled again, for the replicate test (never panel members). With
    ``candidates`` the suspect is also attributed among those candidate references.
    """
    from forensics import verdict as engine
    from forensics.corpus import load_evidence

    suspects = [suspects] if isinstance(suspects, str) else list(suspects)
    evidence_paths = [str(p) for p in evidence_paths]
    results = verify_evidence(evidence_paths)
    corpus = load_evidence([r.path for r in results])
    replicates = list(replicates or ())
    check_labels(corpus.models, reference, suspects, panel, candidates, replicates)
    options = dict(analyse_options or {})
    if "features" not in options:
        from forensics.signals import Features

        options["features"] = Features(corpus)  # per-response features computed once for every suspect
    verdicts, attributions = [], []
    for suspect in suspects:
        # A suspect never calibrates its own test: it leaves the panel while it is analysed.
        members = ([m for m in panel if m != suspect] if panel
                   else default_panel(corpus.models, reference, suspect, replicates))
        if not members and not panel:
            raise ReportError(f"no panel for '{suspect}': the evidence holds no model other than the reference "
                              "(and its replicates) and the suspect, so nothing calibrates the test")
        verdicts.append(engine.analyse(corpus, reference, suspect, members, rng=np.random.default_rng(rng_seed),
                                       replicates=replicates, **options))
        if candidates:
            others = [m for m in (panel or default_panel(corpus.models, reference, suspect, replicates))
                      if m not in candidates]
            accepted = inspect.signature(engine.attribute).parameters
            attributions.append(engine.attribute(corpus, suspect, list(candidates), others,
                                                 rng=np.random.default_rng(rng_seed),
                                                 **{k: v for k, v in options.items() if k in accepted}))
    command = rebuild_command(evidence_paths, reference, suspects, panel, rng_seed, out, candidates, replicates)
    return render_report(verdicts, evidence_paths, out, corpus=corpus, attributions=attributions or None,
                         rng_seed=rng_seed, command=command, title=title, build_time=build_time, verified=results)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def add_report_parser(subparsers) -> None:
    """``forensics report EVIDENCE... --reference R --suspect S [--suspect ...] --out report.html``."""
    r = subparsers.add_parser(
        "report", help="verify evidence, analyse suspects, write a self-contained HTML evidence report",
        description="Verify every evidence log (a failing log is refused), analyse each suspect against the "
                    "reference with a fixed seed, and write one self-contained HTML file (no scripts, no network "
                    "loads) with verdicts, findings, plots, side-by-side responses and provenance. The same "
                    "command on the same evidence rebuilds the same report.")
    r.add_argument("evidence", nargs="+", help="evidence logs (JSONL) or folders of them")
    r.add_argument("--reference", required=True, help="label of the reference model R")
    r.add_argument("--suspect", action="append", required=True, help="label of a suspect (repeatable)")
    r.add_argument("--panel", action="append", help="label of a control-panel model (repeatable; default: every "
                   "other label in the evidence)")
    r.add_argument("--candidate", action="append", help="also rank the suspect among these candidate references "
                   "(repeatable)")
    r.add_argument("--replicate", action="append", help="label of the reference sampled again, for the replicate "
                   "(same-model) test; never a panel model (repeatable)")
    r.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    r.add_argument("--title", help="report title")
    r.add_argument("--out", default="report.html", help="HTML file to write (default report.html)")
    r.set_defaults(func=run_report)


def run_report(args) -> int:
    """Exit 0 with the report written; 2 with one line on stderr for a user error."""
    try:
        out = build_report(args.evidence, args.reference, args.suspect, panel=args.panel, out=args.out,
                           rng_seed=args.seed, candidates=args.candidate, replicates=args.replicate,
                           title=args.title)
    except (ReportError, EvidenceError, FileNotFoundError) as exc:
        print(f"forensics report: error: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: report written ({out.stat().st_size:,} bytes)")
    return 0
