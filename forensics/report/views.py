"""What the report shows about each verdict, under the report's own names.

:func:`verdict_view` is the one place that knows the analysis engine's attribute names; model
text goes through :func:`visible`, and every figure is drawn from the result objects
(:mod:`forensics.report.plots`), so this module computes no statistic itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from markupsafe import Markup, escape

from forensics.corpus import Corpus
from forensics.evidence import visible
from forensics.report import plots
from forensics.signals import SIGNALS, signal_title
from forensics.verdict import fmt_num, fmt_p

EXAMPLES_PER_SUSPECT = 3
MAX_SHOWN_CHARS = 2400  # longer texts are cut in the side-by-side view, saying so and citing the record
LABEL_CLASSES = {
    "same model or direct derivative": "same",
    "distilled from R": "distilled",
    "no evidence of distillation from R": "none",
}

# The combined test is not a signal; the signals' titles and plain words come from the registry.
COMBINED_TITLE = "All signals combined"
COMBINED_PLAIN = (
    "All signals together: on each prompt, every signal's contrast (closeness to R minus closeness to the "
    "other vendors' references) is put on a common scale and averaged with the engine's learned weights; "
    "the suspect's mean contrast is tested against the independent models' exactly as one signal's is."
)
# The four answers of an attribution, and the banner class each is shown with.
ANSWER_CLASSES = {
    "teacher named": "distilled",
    "vendor named, snapshot uncertain": "distilled",
    "inconclusive": "inconclusive",
    "no evidence": "none",
}


def signal_plain(name: str) -> str:
    spec = SIGNALS.get(name)
    return spec.plain if spec else ""


def num(x: object) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def seed_of(rng_state: Mapping | None) -> Any:
    """The seed a result's generator was made from (``rng_state`` recorded by the statistics)."""
    return (rng_state or {}).get("seed_entropy")


def finding_view(finding: Mapping, test: Mapping | None, alpha: float) -> dict:
    """One finding of ``Verdict.to_dict()`` joined with its signal test's dict."""
    test = test or {}
    name = str(finding["signal"])
    ci = tuple(finding.get("ci") or (None, None))
    pairs = [tuple(pair) for pair in (finding.get("records") or ())]
    return {
        "signal": name,
        "title": signal_title(name),
        "description": finding.get("description") or None,
        "defined": bool(finding.get("defined", True)),
        "note": finding.get("note") or "",
        "supports": bool(finding.get("supports")),
        "statistic": num(finding.get("statistic")),
        "effect_size": num(finding.get("effect_size")),
        # a defined statistic with no finite effect: the independent models do not vary at all
        "effect_unbounded": num(finding.get("effect_size")) is None and num(finding.get("statistic")) is not None,
        "ci": (num(ci[0]), num(ci[1])),
        "p_value": num(finding.get("p_value")),
        "alpha": alpha,
        "ci_level": num(test.get("ci_level")),
        "n_resamples": test.get("n_resamples"),
        "seed": seed_of(test.get("rng_state")),
        "n_prompts": test.get("n_prompts"),
        "suspect_value": num(test.get("suspect_value")),
        "unit_values": {str(k): num(v) for k, v in sorted((test.get("unit_values") or {}).items())},
        "prompt_ids": list(finding.get("prompt_ids") or ()),
        "suspect_records": [pair[0] if len(pair) > 0 else None for pair in pairs],
        "reference_records": [pair[1] if len(pair) > 1 else None for pair in pairs],
        "records": [h for pair in pairs for h in pair[:1] if h],
        "test": test or None,  # the test's dict, for the plots
    }


def _contrast(test: Mapping) -> dict:
    """A contrast test's dict (``ContrastTest.to_dict``) under the report's names."""
    return {
        "defined": bool(test.get("defined", False)) and num(test.get("statistic")) is not None,
        "statistic": num(test.get("statistic")),
        "p_value": num(test.get("p_value")),
        "effect_size": num(test.get("effect_size")),
        "excess": num(test.get("excess")),
        "score": num(test.get("suspect_value")),
        "ci": tuple(num(x) for x in (test.get("ci") or (None, None))),
        "df": num(test.get("df")),
        "prior_df": num(test.get("prior_df")),
        "kappa": num(test.get("kappa")),
        "n_units": test.get("n_units"),
        "n_prompts": test.get("n_prompts"),
        "note": test.get("note") or "",
    }


def verdict_view(verdict: Mapping) -> dict:
    """Everything the report reads from one verdict (``Verdict.to_dict(include_null=True)``), under the
    report's own names. This is the one place that knows the verdict's serialised field names."""
    test = verdict.get("test") or {}
    tests = {t["name"]: t for t in test.get("signals") or ()}
    weights = dict(test.get("weights") or {})
    findings = []
    for f in verdict.get("findings") or ():
        view = finding_view(f, tests.get(f["signal"]), verdict["alpha"])
        view["weight"] = num(weights.get(f["signal"]))
        findings.append(view)
    sm = dict(verdict.get("same_model") or {})
    ci = tuple(verdict.get("ci") or (None, None))
    rep = verdict.get("replicate")
    power = verdict.get("power") or None
    return {
        "reference": str(verdict["reference"]),
        "suspect": str(verdict["suspect"]),
        "panel": list(map(str, verdict.get("panel") or ())),
        "units": list(map(str, verdict.get("units") or ())),
        "anchors": list(map(str, verdict.get("anchors") or ())),
        "label": str(verdict["label"]),
        "label_class": LABEL_CLASSES.get(str(verdict["label"]), "none"),
        "testable": num(verdict.get("p_value")) is not None,
        "basis": str(verdict.get("basis") or "panel"),
        "strength": str(verdict.get("strength")),
        "p_value": num(verdict.get("p_value")),
        "statistic": num(verdict.get("statistic")),
        "effect_size": num(verdict.get("effect_size")),
        "ci": (num(ci[0]), num(ci[1])),
        "ci_level": num(test.get("ci_level")),
        "alpha": verdict["alpha"],
        "n_prompts": verdict.get("n_prompts"),
        "n_resamples": test.get("n_resamples"),
        "seed": seed_of(test.get("rng_state")),
        "rng_state": dict(test.get("rng_state") or {}),
        "notes": list(verdict.get("notes") or ()),
        "power": power.get("sentence") if isinstance(power, Mapping) else None,
        "score": num(verdict.get("score")),
        "same_model": {
            "share": num(sm.get("share")),
            "threshold": num(sm.get("threshold")),
            "panel_max": num(sm.get("panel_max")),
            "exact_share": num(sm.get("exact_share")),
            "n_prompts": sm.get("n_prompts"),
            "panel_shares": sorted((str(k), num(v)) for k, v in (sm.get("panel_shares") or {}).items()),
        },
        "combined": _contrast(test),
        "replicate": None
        if rep is None
        else {
            "replicates": list(map(str, rep.get("replicates") or ())),
            "controls": list(map(str, rep.get("controls") or ())),
            "defined": bool(rep.get("defined")),
            "note": rep.get("note") or "",
            "statistic": num(rep.get("statistic")),
            "p_value": num(rep.get("p_value")),
            "relative_closeness": num(rep.get("relative_closeness")),
            "ci": tuple(num(x) for x in rep.get("ci") or (None, None)),
            "self_share": num(rep.get("self_share")),
            "gap": num(rep.get("gap")),
            "gap_ci": tuple(num(x) for x in rep.get("gap_ci") or (None, None)),
            "suspect_closeness": num(rep.get("suspect_closeness")),
            "replicate_closeness": num(rep.get("replicate_closeness")),
            "control_closeness": num(rep.get("control_closeness")),
            "n_prompts": rep.get("n_prompts"),
            "n_resamples": rep.get("n_resamples"),
            "seed": seed_of(rep.get("rng_state")),
            "method": rep.get("method"),
            "test": rep,
        },
        "findings": findings,
        "raw_findings": list(verdict.get("findings") or ()),  # for the effect-size plot
        "test": test,  # the combined test's dict, for its plot
    }


def attribution_view(attribution: Mapping) -> dict:
    """One attribution (``Attribution.to_dict()``): the one answer, the top candidate's test corrected
    for its selection, the snapshot test inside the named vendor, and the candidates ranked by score.
    Rows keep the result's own field names, so the plots read a view and an :class:`Attribution` alike."""
    sel = attribution.get("selection") or {}
    selection = {
        "candidate": sel.get("candidate"),
        "statistic": num(sel.get("statistic")),
        "p_value": num(sel.get("p_value")),
        "p_unselected": num(sel.get("p_unselected")),
        "n_candidates": sel.get("n_candidates"),
        "correlation": num(sel.get("correlation")),
        "n_draws": sel.get("n_draws"),
        "seed": seed_of(sel.get("rng_state")),
        "defined": bool(sel.get("defined", False)),
        "note": sel.get("note") or "",
    }
    kind = str(attribution.get("kind") or "")
    named_vendor = attribution.get("vendor") if kind in ("teacher named", "vendor named, snapshot uncertain") else None
    rows = [
        {
            "candidate": str(c["candidate"]),
            "family": str(c.get("family") or c["candidate"]),
            "vendor": str(c.get("vendor") or c["candidate"]),
            "score": num(c.get("score")),
            "excess": num(c.get("excess")),
            "statistic": num(c.get("statistic")),
            "effect_size": num(c.get("effect_size")),
            "p_value": num(c.get("p_value")),
            "named": c["candidate"] == attribution.get("teacher"),
            "in_named_vendor": named_vendor is not None and c.get("vendor") == named_vendor,
            "label": str(c.get("label")),
        }
        for c in attribution.get("ranking") or ()
    ]
    snap = attribution.get("snapshot")
    return {
        "suspect": str(attribution["suspect"]),
        "answer": str(attribution.get("answer")),
        "kind": kind,
        "answer_class": ANSWER_CLASSES.get(kind, "inconclusive"),
        "teacher": attribution.get("teacher"),
        "vendor": named_vendor,
        "top": attribution.get("top"),
        "alpha": attribution.get("alpha"),
        "ranking": rows,
        "p_value": num(attribution.get("p_value")),
        "selection": selection if sel else None,
        "snapshot": None if snap is None else {"pair": list(map(str, snap.get("pair") or ())), **_contrast(snap)},
        "notes": list(attribution.get("notes") or ()),
    }


def pair_detail(view: dict) -> str:
    """The pair verdict shown under an attribution's answer, in words that cannot contradict it: one
    test against one candidate, before correcting for having tried the others."""
    ref = view["reference"]
    sig3 = partial(fmt_num, digits=3, significant=True)
    alone = f"against {ref} alone, before correcting for the other candidates"
    if view["basis"] == "replicate":
        p = fmt_p(view["p_value"], precise=True)
        return f"replicate test {alone}: p = {p}, relative closeness {sig3(view['effect_size'])}"
    c = view["combined"]
    if not c["defined"]:
        return f"test against {ref} alone: not defined ({c['note'] or 'too few independent models'})"
    return f"test {alone}: p = {fmt_p(c['p_value'], precise=True)}, effect {sig3(c['effect_size'])} panel SD"


def _shown(text: str | None, limit: int = MAX_SHOWN_CHARS) -> dict:
    """Text to show, cut at ``limit`` characters (the template says so and cites the record)."""
    text = "" if text is None else text
    cut = len(text) > limit
    return {"text": visible(text[:limit]), "truncated": cut, "total": len(text)}


def _example(corpus, prompt_id: str, view: dict, finding: dict, position: int) -> dict | None:
    reference, suspect = view["reference"], view["suspect"]
    if not (corpus.text(reference, prompt_id) or "").strip() or not (corpus.text(suspect, prompt_id) or "").strip():
        return None
    # The answer shown for contrast is the independent model whose contrast towards R is highest on
    # this signal overall: the fairest comparison, not the most different answer one could find.
    ranked = sorted(
        finding["unit_values"].items(), key=lambda kv: (-(kv[1] if kv[1] is not None else -math.inf), kv[0])
    )
    order = [m for m, _ in ranked if m in view["units"]] + sorted(view["units"]) + sorted(view["panel"])
    contrast = next((m for m in order if (corpus.text(m, prompt_id) or "").strip()), None)
    cited = {
        suspect: finding["suspect_records"][position] if position < len(finding["suspect_records"]) else None,
        reference: finding["reference_records"][position] if position < len(finding["reference_records"]) else None,
    }

    def side(model: str) -> dict:
        return {
            "model": model,
            **_shown(corpus.text(model, prompt_id)),
            "record": cited.get(model) or corpus.record(model, prompt_id) or "",
        }

    rank = "" if position == 0 else f" (its no. {position + 1})"
    why = (
        f"the prompt where the suspect stands out most from the independent models on {finding['title'].lower()}{rank}"
    )
    return {
        "prompt_id": prompt_id,
        "prompt": _shown(corpus.prompts.get(prompt_id, ""), 1200),
        "why": why,
        "family": (corpus.meta.get(prompt_id) or {}).get("family"),
        "signal": finding["title"],
        "reference": side(reference),
        "suspect": side(suspect),
        "panel": side(contrast) if contrast else None,
    }


def pick_examples(corpus: Corpus, view: dict, k: int = EXAMPLES_PER_SUSPECT) -> list[dict]:
    """The most telling prompts, as the findings cite them: each finding lists the prompts where the
    suspect exceeds the panel most; supporting findings first, most significant first."""
    order = sorted(
        (f for f in view["findings"] if f["defined"] and f["prompt_ids"]),
        key=lambda f: (not f["supports"], f["p_value"] if f["p_value"] is not None else 2.0, f["signal"]),
    )
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


def _short(h, n: int = 12) -> str:
    return str(h or "")[:n]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def add_figures(view: dict) -> None:
    """Plots of the result objects themselves (:mod:`forensics.report.plots`), embedded as data: URIs."""
    axis = plots.contrast_axis(view["anchors"])
    for f in view["findings"]:
        f["plot"] = None
        if not f["test"] or not f["defined"]:
            continue
        f["plot"] = plots.data_uri(
            plots.signal_plot(
                f["test"], suspect=view["suspect"], reference=view["reference"], title=f["title"], xlabel=axis
            )
        )
        f["plot_alt"] = (
            f"{f['title']}: test statistic {fmt_num(f['statistic'], 3, significant=True)} of {view['suspect']} against "
            f"its null distribution (p = {fmt_p(f['p_value'], precise=True)}), and the mean contrast towards "
            f"{view['reference']} of the suspect and of each independent model"
        )
    view["combined_plot"] = None
    if view["combined"]["defined"]:
        view["combined_plot"] = plots.data_uri(
            plots.signal_plot(
                view["test"], suspect=view["suspect"], reference=view["reference"], title=COMBINED_TITLE, xlabel=axis
            )
        )
    if view["replicate"] is not None:
        view["replicate"]["plot"] = plots.data_uri(
            plots.replicate_plot(view["replicate"]["test"], suspect=view["suspect"], reference=view["reference"])
        )
    view["effects_plot"] = None
    if any(f["effect_size"] is not None for f in view["findings"]):
        view["effects_plot"] = plots.data_uri(
            plots.effect_sizes_plot(
                view["raw_findings"], suspect=view["suspect"], names={n: spec.title for n, spec in SIGNALS.items()}
            )
        )


def signals_described(views: Sequence[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for view in views:
        for f in view["findings"]:
            seen.setdefault(
                f["signal"],
                {
                    "name": f["signal"],
                    "title": f["title"],
                    "description": signal_plain(f["signal"]) or f["description"] or "(no description given)",
                },
            )
    seen["combined"] = {
        "name": "combined",
        "title": COMBINED_TITLE,
        "description": COMBINED_PLAIN,
    }
    return list(seen.values())


def finalize(value: Any) -> Any:
    """Applied by jinja2 to every ``{{ ... }}`` output: plain text passes through :func:`visible`, so no
    label, note or warning reaches the page raw, whatever the template forgets (markup built by
    :func:`name` has been through it already)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return visible(value)


def name(text: Any) -> Markup:
    """A model label or name from the evidence: control characters shown, and bidi-isolated in
    ``<bdi>`` so a right-to-left override in a third-party label cannot reorder the text around it."""
    return Markup("<bdi>{}</bdi>").format(escape(visible(text)))


def names(items: Any, sep: str = ", ") -> Markup:
    return Markup(sep).join(name(x) for x in items)


FILTERS = {
    "p": partial(fmt_p, precise=True),
    "num": partial(fmt_num, digits=3, significant=True),
    "short": _short,
    "slug": slugify,
    "visible": visible,
    "name": name,
    "names": names,
}
