"""Verdicts for people: one-line summaries, rounded tables and caveats in words."""

from __future__ import annotations

import pandas as pd

from forensics.verdict.engine import Verdict
from forensics.verdict.format import fmt_num, fmt_p

SMALL_PANEL = 3  # fewer independent panel members than this: the calibration is thin


def verdict_line(verdict: Verdict) -> str:
    """One plain line: the label, its strength, the test it rests on (the combined panel test's
    p-value and effect size, or the replicate test's), the panel."""
    ci = tuple(verdict.ci or (None, None))
    units = len(verdict.units)
    if verdict.basis == "replicate":
        evidence = (
            f"replicate test p {fmt_p(verdict.p_value)}, relative closeness {fmt_num(verdict.effect_size, 2)} "
            f"[{fmt_num(ci[0], 2)}, {fmt_num(ci[1], 2)}] (0 = controls, 1 = R resampled)"
        )
    else:
        evidence = (
            f"combined p {fmt_p(verdict.p_value)}, effect {fmt_num(verdict.effect_size)} panel SD "
            f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}]"
        )
    return (
        f"{verdict.suspect} vs {verdict.reference}: {verdict.label} (strength: {verdict.strength}); "
        f"{evidence}; {verdict.n_prompts} prompts; "
        f"panel of {len(verdict.panel)} ({units} independent model{'s' if units != 1 else ''})"
    )


def replicate_line(verdict: Verdict) -> str:
    """The replicate test of a verdict in one line (or why there is none)."""
    rep = getattr(verdict, "replicate", None)
    if rep is None:
        return f"{verdict.suspect}: no replicate of {verdict.reference} was given"
    ci, gap = tuple(rep.ci), tuple(rep.gap_ci)
    head = (
        f"{verdict.suspect}: mean cosine to {verdict.reference} {fmt_num(rep.suspect_closeness, 2)}, "
        f"{verdict.reference} resampled {fmt_num(rep.replicate_closeness, 2)}, "
        f"controls {fmt_num(rep.control_closeness, 2)}; "
    )
    if not rep.defined:
        return (
            head + f"at least as close as the resample on {rep.self_share:.0%} of {rep.n_prompts} prompts "
            f"(gap {fmt_num(rep.gap, 2)} [{fmt_num(gap[0], 2)}, {fmt_num(gap[1], 2)}]); test undefined: {rep.note}"
        )
    return (
        head + f"relative closeness {fmt_num(rep.relative_closeness, 2)} [{fmt_num(ci[0], 2)}, "
        f"{fmt_num(ci[1], 2)}], p {fmt_p(rep.p_value)} (H0: at most 1/2); at least as close as the resample on "
        f"{rep.self_share:.0%} of {rep.n_prompts} prompts"
    )


def findings_table(verdict: Verdict) -> pd.DataFrame:
    """Per-signal findings of a :class:`forensics.verdict.Verdict`, rounded: effect size in panel
    SDs with its CI, p-value, whether the signal alone supports distillation, its weight in the
    combined test, and why it is undefined when it is."""
    weights = dict(verdict.test.weights)
    rows = []
    for f in verdict.findings:
        ci = tuple(f.ci or (None, None))
        rows.append(
            {
                "signal": f.signal,
                "defined": bool(f.defined),
                "effect (panel SD)": fmt_num(f.effect_size),
                "95% CI": f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}]" if f.defined else "",
                "p": fmt_p(f.p_value),
                "supports": "yes" if f.supports else "no",
                "weight": fmt_num(weights.get(f.signal), 2) if f.defined else "",
                "note": f.note or "",
            }
        )
    return pd.DataFrame(rows).set_index("signal")


def caveats(verdict: Verdict, small_panel: int = SMALL_PANEL) -> list[str]:
    """What limits this verdict, in words: the engine's own notes, a thin or missing panel,
    undefined signals, and a same-model check that could not run."""
    out = list(verdict.notes or ())
    units = len(verdict.units)
    if units < 2:
        out.append(
            f"the panel has {units} independent model{'s' if units != 1 else ''}: at least 2 are needed "
            "to calibrate the distillation test at all, so 'distilled from R' cannot be reached whatever "
            "the suspect did; record more independent models on the same probes"
        )
    elif units < small_panel:
        out.append(
            f"the panel is thin ({units} independent models): the test is calibrated but has little "
            f"power, and p-values cannot go far below what {units} controls allow"
        )
    if not verdict.anchors:
        out.append(
            "no reference of another vendor anchors the contrast, so the test compares plain closeness to R, "
            "which a reference that every model resembles inflates; add other vendors' references to the panel"
        )
    undefined = [f.signal for f in verdict.findings if not f.defined]
    if undefined and units >= 2:
        out.append("signals undefined on this evidence: " + ", ".join(undefined))
    if not verdict.same_model.ran and verdict.replicate is None:
        out.append(
            "the same-model check (beating the closest pair of independent panel models) needs 2 panel "
            "members from different groups and did not run; a replicate of R would allow the replicate "
            "test instead"
        )
    return list(dict.fromkeys(out))
