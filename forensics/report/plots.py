"""Figures of test results, for the evidence report and the notebooks: result objects in, figures out.

Nothing here computes a statistic; every number drawn comes from the result object it is
given ("compute and present apart"). Figures are built on :class:`matplotlib.figure.Figure`
directly (no pyplot, no global backend switch, nothing left open), and :func:`svg_bytes` writes
them as byte-identical SVG for identical input: a fixed ``svg.hashsalt``, no date in the
metadata, and glyphs drawn as paths so the picture does not depend on the viewer's fonts.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.patches
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from forensics.evidence import visible
from forensics.verdict import fmt_num, fmt_p

# Applied while a figure is built and while it is saved, never globally.
STYLE = {
    "svg.hashsalt": "forensics-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.edgecolor": "#55606e",
    "axes.labelcolor": "#2b3440",
    "xtick.color": "#2b3440",
    "ytick.color": "#2b3440",
    "text.usetex": False,
    "path.simplify": True,
}
SUSPECT_COLOR = "#b3261e"
NULL_COLOR = "#9aa5b1"
_PROLOGUE = re.compile(rb"\A<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*")
_GENERATED_ID = re.compile(rb'(?<=["#])([pmh][0-9a-f]{10})(?=[")])')
PANEL_COLOR = "#1f5fa8"
OK_COLOR = "#2e7d32"


def _get(obj: Any, *names: str, default=None):
    """First present attribute (or mapping key) among ``names``."""
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        else:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return default


def plain(text: Any) -> str:
    """Label text drawn literally and visibly: invisible and direction characters written out (the one
    label filter, :func:`forensics.evidence.visible`), and ``$...$`` not read as mathtext."""
    return visible(text).replace("\\", "\\\\").replace("$", r"\$")


def _finite(values: Iterable) -> np.ndarray:
    arr = np.asarray([v for v in values if v is not None], dtype=float).ravel()
    return arr[np.isfinite(arr)]


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _short_label(name: str, width: int = 26) -> str:
    name = str(name)
    return plain(name if len(name) <= width else name[: width - 1] + "…")


def contrast_axis(anchors: Sequence[str]) -> str:
    """The x-axis words for a contrast: closeness to R, minus closeness to the anchors when there are any."""
    if not anchors:
        return "mean closeness to R (no anchor)"
    return "mean contrast (R minus other vendors)"


def signal_plot(
    test: Any, suspect: str = "suspect", reference: str = "R", title: str | None = None, xlabel: str | None = None
) -> Figure:
    """One signal's (or the combined) contrast test, in two panels.

    Left: the suspect's studentised statistic (``statistic``) against the null it is judged by
    (``null_distribution``: evenly spaced quantiles of ``kappa`` times Student t with ``df``
    degrees of freedom), with ``p_value``. Right: the quantity being compared, the mean contrast
    towards R of the suspect (``suspect_value``) and of each independent model (``unit_values``).
    Works on :class:`forensics.stats.ContrastTest` and its ``to_dict`` alike.
    """
    stat = _get(test, "statistic")
    stat = float(stat) if stat is not None else float("nan")
    null = _finite(_get(test, "null_distribution", default=()))
    units = _get(test, "unit_values", default={}) or {}
    units = {str(k): float(v) for k, v in units.items() if v is not None and math.isfinite(float(v))}
    mine = _get(test, "suspect_value")
    mine = float(mine) if mine is not None else float("nan")
    p = _get(test, "p_value")
    df, kappa = _get(test, "df"), _get(test, "kappa")
    name = title or _get(test, "title", "name", "signal", default="signal")
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.6, max(2.5, 1.0 + 0.22 * (len(units) + 1)))
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        # -- left: the test ---------------------------------------------------------------
        if null.size:
            # The central 99% of the null sets the view (Student-t tails would squash it), widened
            # to include the observed value; quantiles outside are counted in the legend, never hidden.
            lo, hi = (float(q) for q in np.quantile(null, [0.005, 0.995]))
            if math.isfinite(stat):
                lo, hi = min(lo, stat), max(hi, stat)
            pad = (hi - lo) * 0.05 or 0.5
            lo, hi = lo - pad, hi + pad
            outside = int(((null < lo) | (null > hi)).sum())
            shape = "null"
            if df is not None and math.isfinite(float(df)):
                widened = kappa is not None and float(kappa) != 1.0
                shape = f"null: {fmt_num(kappa, 3, significant=True)} × t" if widened else "null: Student t"
                shape += f", {fmt_num(df, 3, significant=True)} df"
            label = f"{shape} ({null.size:,} quantiles"
            label += f"; {outside:,} beyond the axis)" if outside else ")"
            left.hist(
                null, bins=np.linspace(lo, hi, 41), color=NULL_COLOR, histtype="stepfilled", linewidth=0, label=label
            )
            left.set_xlim(lo, hi)
        if math.isfinite(stat):
            left.axvline(
                stat,
                color=SUSPECT_COLOR,
                linewidth=2.2,
                label=plain(f"{suspect}: t = {fmt_num(stat, 3, significant=True)}"),
            )
        elif not math.isnan(stat):  # infinite: the independent models do not vary at all on this signal
            left.annotate(
                plain(f"{suspect}: t = {'+' if stat > 0 else '-'}inf"),
                xy=(1.0 if stat > 0 else 0.0, 0.5),
                xycoords="axes fraction",
                ha="right" if stat > 0 else "left",
                color=SUSPECT_COLOR,
            )
        left.set_title(plain(f"{name}: p = {fmt_num(p, 3, significant=True)}" if p is not None else f"{name}"))
        left.set_xlabel("test statistic t (0 = as close to R as the independent models)")
        left.set_yticks([])
        left.spines["left"].set_visible(False)
        if null.size or math.isfinite(stat):
            left.set_ylim(0, left.get_ylim()[1] * 1.55)  # headroom: the legend never covers the bars
            left.legend(loc="upper left", frameon=True, framealpha=0.92, edgecolor="none", fontsize=7.5)
        # -- right: the mean contrast of each model -----------------------------------------
        rows = sorted(units.items(), key=lambda kv: (kv[1], kv[0]))
        names = [_short_label(k) for k, _ in rows]
        right.scatter(
            [v for _, v in rows], range(len(rows)), color=PANEL_COLOR, s=22, zorder=3, label="independent models"
        )
        if math.isfinite(mine):
            right.scatter([mine], [len(rows)], color=SUSPECT_COLOR, s=36, marker="D", zorder=4, label="suspect")
            names.append(_short_label(suspect))
        right.set_yticks(range(len(names)), names, fontsize=7.5)
        right.set_ylim(-0.7, len(names) - 0.3)
        right.grid(axis="x", color="#e3e7ec", linewidth=0.6)
        right.set_title(plain(f"towards {reference}"), fontsize=9)
        right.set_xlabel(plain(xlabel or "mean contrast towards R"), fontsize=7.5)
    return fig


def effect_sizes_plot(
    findings: Sequence[Any], suspect: str = "suspect", names: Mapping[str, str] | None = None
) -> Figure:
    """Forest plot of :class:`forensics.verdict.Finding` objects: each signal's effect size with its
    confidence interval (0 = no closer to R than the panel); red where the finding ``supports``
    distillation on its own. ``names`` maps signal names to display names."""
    rows = []
    for f in findings:
        eff = _get(f, "effect_size")
        if eff is None or not math.isfinite(float(eff)):
            continue
        ci = tuple(_get(f, "ci", default=(None, None)) or (None, None))
        signal = _get(f, "signal", "name", default="signal")
        supports = _get(f, "supports")
        if supports is None:
            p, alpha = _get(f, "p_value"), _get(f, "alpha", default=0.05)
            supports = p is not None and p < alpha
        rows.append((plain((names or {}).get(signal, signal)), float(eff), ci, bool(supports)))
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.6, 0.9 + 0.38 * max(1, len(rows)))
        ax = fig.add_subplot()
        ax.axvline(0.0, color="#55606e", linewidth=0.8, linestyle="--")
        for i, (_, eff, ci, supports) in enumerate(reversed(rows)):
            color = SUSPECT_COLOR if supports else NULL_COLOR
            lo, hi = (ci + (None, None))[:2]
            if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
                ax.plot([lo, hi], [i, i], color=color, linewidth=2.0, solid_capstyle="butt")
            ax.plot([eff], [i], marker="o", color=color, markersize=6)
        ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlabel("effect size in panel SDs (0 = as close to R as the independent models)")
        ax.set_title(plain(f"{suspect}: effect size per signal"))
    return fig


def _named(attribution: Any) -> tuple[str | None, str | None]:
    """(named teacher, named vendor) of an attribution or its view; None where the answer names none."""
    kind = str(_get(attribution, "kind", default=""))
    teacher = _get(attribution, "teacher") if kind == "teacher named" else None
    vendor = _get(attribution, "vendor") if kind in ("teacher named", "vendor named, snapshot uncertain") else None
    return teacher, vendor


def attribution_plot(attribution: Any) -> Figure:
    """:class:`forensics.verdict.Attribution` (or its view): candidates by their score (the
    suspect's lean towards each, against the other vendors' candidates), red for the named teacher or the named vendor's
    candidates, grey otherwise."""
    teacher, vendor = _named(attribution)
    rows = []
    for c in list(_get(attribution, "ranking", default=()) or ()):
        score = _get(c, "score")
        if score is not None and math.isfinite(float(score)):
            name = _get(c, "candidate", default="?")
            named = name == teacher or (vendor is not None and _get(c, "vendor") == vendor)
            rows.append((_short_label(name), float(score), named))
    suspect = _get(attribution, "suspect", default="suspect")
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.6, 0.9 + 0.34 * max(1, len(rows)))
        ax = fig.add_subplot()
        ys = range(len(rows))
        ax.barh(
            list(ys),
            [r[1] for r in reversed(rows)],
            height=0.6,
            color=[SUSPECT_COLOR if r[2] else NULL_COLOR for r in reversed(rows)],
        )
        ax.set_yticks(list(ys), [r[0] for r in reversed(rows)])
        ax.axvline(0.0, color="#55606e", linewidth=0.8)
        ax.set_xlabel("lean towards the candidate, its score (red: named by the answer)")
        ax.set_title(plain(f"{suspect}: which candidate reference?"))
    return fig


def attribution_heatmap(attributions: Sequence[Any]) -> Figure:
    """Suspects (rows) x candidate references (columns), coloured by the suspect's lean towards the
    candidate, its score (which ranks candidates), and annotated with it and the
    candidate's own p-value; a solid box marks a named
    teacher, a dashed box the candidates of a named vendor whose snapshot is uncertain, a dot the
    top-ranked candidate."""
    rows = [(str(_get(a, "suspect", default="?")), list(_get(a, "ranking", default=()) or ())) for a in attributions]
    columns = sorted({str(_get(c, "candidate", default="?")) for _, ranking in rows for c in ranking})
    grid = np.full((len(rows), len(columns)), np.nan)
    notes = [["" for _ in columns] for _ in rows]
    with matplotlib.rc_context(STYLE):
        fig = _figure(1.6 + 1.05 * max(1, len(columns)), 1.0 + 0.5 * max(1, len(rows)))
        ax = fig.add_subplot()
        for i, (a, (_, ranking)) in enumerate(zip(attributions, rows)):
            teacher, vendor = _named(a)
            for rank, c in enumerate(ranking):
                name = str(_get(c, "candidate", default="?"))
                j = columns.index(name)
                m = _get(c, "score")
                grid[i, j] = float(m) if m is not None and math.isfinite(float(m)) else np.nan
                p = _get(c, "p_value")
                notes[i][j] = fmt_num(m, 2, significant=True) + "\n" + (f"p {fmt_p(p)}" if p is not None else "n/a")
                if rank == 0:
                    ax.plot(j, i - 0.32, marker="o", markersize=4, color="#f2c744", markeredgecolor="#2b3440")
                box = "solid" if name == teacher else "dashed" if vendor and _get(c, "vendor") == vendor else None
                if box:
                    ax.add_patch(
                        matplotlib.patches.Rectangle(
                            (j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=SUSPECT_COLOR, linewidth=2.2, linestyle=box
                        )
                    )
        finite = grid[np.isfinite(grid)]
        bound = float(np.max(np.abs(finite))) if finite.size else 1.0
        image = ax.imshow(grid, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
        for i in range(len(rows)):
            for j in range(len(columns)):
                dark = np.isfinite(grid[i, j]) and abs(grid[i, j]) > 0.6 * bound
                ax.text(
                    j, i + 0.08, notes[i][j], ha="center", va="center", fontsize=7, color="white" if dark else "black"
                )
        ax.set_xticks(range(len(columns)), [_short_label(c, 18) for c in columns], rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), [_short_label(r[0], 22) for r in rows])
        ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=ax, shrink=0.8, label="lean towards the candidate (score)")
        ax.set_title("Which teacher? The suspect's lean towards each candidate")
    return fig


def signal_heatmap(attributions: Sequence[Any], signal: str, title: str | None = None) -> Figure:
    """One signal's effect size (panel SDs) for every suspect (row) against every candidate reference
    (column), from the verdicts inside :class:`forensics.verdict.Attribution` results; '*' where
    the signal alone is significant."""
    rows = [str(_get(a, "suspect", default="?")) for a in attributions]
    columns = sorted({str(_get(c, "candidate")) for a in attributions for c in _get(a, "ranking", default=())})
    grid = np.full((len(rows), len(columns)), np.nan)
    marks = [["" for _ in columns] for _ in rows]
    for i, a in enumerate(attributions):
        for c in _get(a, "ranking", default=()):
            j = columns.index(str(_get(c, "candidate")))
            for f in _get(_get(c, "verdict"), "findings", default=()) or ():
                if _get(f, "signal") == signal and _get(f, "defined", default=True):
                    e = _get(f, "effect_size")
                    grid[i, j] = float(e) if e is not None and math.isfinite(float(e)) else np.nan
                    marks[i][j] = (
                        (fmt_num(grid[i, j], 3, significant=True) + (" *" if _get(f, "supports") else ""))
                        if e is not None
                        else ""
                    )
    with matplotlib.rc_context(STYLE):
        fig = _figure(1.6 + 0.95 * max(1, len(columns)), 1.0 + 0.45 * max(1, len(rows)))
        ax = fig.add_subplot()
        finite = grid[np.isfinite(grid)]
        bound = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        image = ax.imshow(grid, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
        for i in range(len(rows)):
            for j in range(len(columns)):
                ax.text(j, i, marks[i][j], ha="center", va="center", fontsize=7.5)
        ax.set_xticks(range(len(columns)), [_short_label(c, 18) for c in columns], rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), [_short_label(r, 22) for r in rows])
        ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=ax, shrink=0.8, label="effect size (panel SD)")
        ax.set_title(plain(title or signal) + " (* significant on its own)")
    return fig


def efficiency_plot(rows: Sequence[Mapping]) -> Figure:
    """The verdict's p-value against the number of prompts it was computed on, one line per suspect."""
    by_suspect: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        p = r.get("p_value")
        if p is not None:
            by_suspect.setdefault(str(r["suspect"]), []).append((int(r["prompts"]), max(float(p), 1e-4)))
    with matplotlib.rc_context(STYLE):
        fig = _figure(5.6, 3.4)
        ax = fig.add_subplot()
        palette = [SUSPECT_COLOR, PANEL_COLOR, OK_COLOR, "#7b4ea3", "#b26b00"]
        for k, (suspect, points) in enumerate(sorted(by_suspect.items())):
            points.sort()
            ax.plot(
                [x for x, _ in points],
                [y for _, y in points],
                marker="o",
                color=palette[k % len(palette)],
                label=plain(suspect),
            )
        ax.axhline(0.05, color="#55606e", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted({int(r["prompts"]) for r in rows})
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.invert_yaxis()
        ax.set_xlabel("prompts used (random subsets, then all)")
        ax.set_ylabel("p-value of the verdict (dashed: 0.05)")
        ax.set_title("How many prompts the verdict needs")
        if by_suspect:
            ax.legend(loc="best", frameon=False, fontsize=7.5)
    return fig


def replicate_plot(test: Any, suspect: str = "suspect", reference: str = "R") -> Figure:
    """:class:`forensics.stats.ReplicateTest`, in two panels.

    Left: per-prompt closeness to R's answers of the controls, the suspect and R's own resample
    (``per_prompt``), as box plots with their means. Right: the suspect's ``relative_closeness``
    with its interval on the scale the test uses (0 = the controls, 1 = R's resample, dashed: the
    1/2 that H0 puts it at most), titled with ``p_value``; a line saying why when it is undefined.
    """
    per_prompt = dict(_get(test, "per_prompt", default={}) or {})
    rows = [
        (key, name, color)
        for key, name, color in (
            ("control", "controls (mean)", PANEL_COLOR),
            ("suspect", suspect, SUSPECT_COLOR),
            ("replicate", f"{reference} resampled", OK_COLOR),
        )
        if key in per_prompt
    ]
    r = _get(test, "relative_closeness")
    r = float(r) if r is not None else float("nan")
    ci = tuple(_get(test, "ci", default=(None, None)) or (None, None))
    p = _get(test, "p_value")
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.6, 2.4)
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        data = [_finite(per_prompt[key]) for key, _, _ in rows]
        if rows:
            box = left.boxplot(
                data,
                orientation="horizontal",
                widths=0.55,
                patch_artist=True,
                showfliers=False,
                medianprops={"color": "#2b3440"},
            )
            for patch, (_, _, color) in zip(box["boxes"], rows):
                patch.set(facecolor=color, alpha=0.35, edgecolor=color)
            left.scatter(
                [d.mean() if d.size else np.nan for d in data],
                range(1, len(rows) + 1),
                marker="D",
                color=[c for _, _, c in rows],
                s=30,
                zorder=3,
                label="mean",
            )
            left.set_yticks(range(1, len(rows) + 1), [_short_label(n) for _, n, _ in rows], fontsize=7.5)
        left.set_xlabel("cosine to R's answer, per prompt")
        left.set_title(plain(f"closeness to R ({_get(test, 'n_prompts', default=0)} prompts)"))
        right.set_title(
            plain(f"replicate test: p = {fmt_num(p, 3, significant=True)}" if math.isfinite(r) else "replicate test")
        )
        if math.isfinite(r):
            lo, hi = (float(x) if x is not None else float("nan") for x in ci[:2])
            span = [v for v in (0.0, 1.0, r, lo, hi) if math.isfinite(v)]
            right.axvline(0.5, color="#55606e", linewidth=0.8, linestyle="--")
            right.scatter([0.0, 1.0], [0, 0], color=[PANEL_COLOR, OK_COLOR], s=30, zorder=3)
            if math.isfinite(lo) and math.isfinite(hi):
                right.plot([lo, hi], [0, 0], color=SUSPECT_COLOR, linewidth=2.2)
            right.scatter([r], [0], color=SUSPECT_COLOR, marker="D", s=40, zorder=4)
            right.annotate("controls", (0.0, 0), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=7.5)
            right.annotate(
                "R resampled", (1.0, 0), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=7.5
            )
            right.annotate(
                plain(f"{_short_label(suspect, 18)} {fmt_num(r, 3, significant=True)}"),
                (r, 0),
                xytext=(0, -14),
                textcoords="offset points",
                ha="center",
                fontsize=7.5,
                color=SUSPECT_COLOR,
            )
            right.set_xlim(min(span) - 0.15, max(span) + 0.15)
            right.set_ylim(-1, 1)
            right.set_yticks([])
            right.spines["left"].set_visible(False)
            right.set_xlabel("relative closeness\n(0 = controls, 1 = R resampled)")
        else:
            right.axis("off")
            right.text(
                0.0,
                0.5,
                plain("not defined: " + str(_get(test, "note", default="?"))),
                transform=right.transAxes,
                va="center",
                ha="left",
                wrap=True,
                fontsize=8,
            )
    return fig


def verdict_figure(verdict: Any) -> Figure:
    """The test a verdict rests on: the combined contrast test as :func:`signal_plot` draws
    it (the suspect's statistic against the null, and each model's mean contrast towards R), or
    the replicate test as :func:`replicate_plot` draws it (also when only its
    descriptive part is defined); when there is nothing to draw, a figure that says why."""
    replicate = getattr(verdict, "replicate", None)
    if getattr(verdict.test, "defined", False):
        return signal_plot(
            verdict.test,
            suspect=verdict.suspect,
            reference=verdict.reference,
            title=f"{verdict.suspect}: all signals combined",
            xlabel=contrast_axis(verdict.anchors),
        )
    if replicate is not None:  # the replicate test, or at least how the suspect compares with R's resample
        return replicate_plot(replicate, suspect=verdict.suspect, reference=verdict.reference)
    why = verdict.test.note or (verdict.notes or ["the combined test is undefined"])[0]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.6, 1.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        ax.set_title(plain(f"{verdict.suspect}: no calibrated test to draw"))
        ax.text(
            0.0,
            0.5,
            plain(why + f" (panel: {', '.join(verdict.panel) or 'none'})"),
            transform=ax.transAxes,
            va="center",
            ha="left",
            wrap=True,
        )
    return fig


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG, byte-identical for identical figures (no date, fixed hash salt)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    # The XML declaration and DOCTYPE (which names a DTD by URL) are not needed to draw it.
    svg = _PROLOGUE.sub(b"", buf.getvalue(), count=1)
    # matplotlib names clip paths and markers by a hash of their exact float geometry, so noise in
    # the last bit of a layout computation renames them although every printed coordinate is the
    # same; number them in order of appearance instead.
    names: dict[bytes, bytes] = {}
    for token in _GENERATED_ID.findall(svg):
        names.setdefault(token, token[:1] + b"%d" % len(names))
    return _GENERATED_ID.sub(lambda m: names[m.group(1)], svg)


def data_uri(fig: Figure) -> str:
    """``data:image/svg+xml;base64,...`` for an <img>: shown offline and never scripted."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_bytes(fig)).decode("ascii")
