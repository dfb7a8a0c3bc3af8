"""Figures of the descriptive tables the notebooks show: closeness, refusals, shared errors, the benchmark.

Like :mod:`forensics.report.plots` they take tables computed elsewhere and draw them, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from forensics.features import RefusalMatrix
from forensics.report.plots import OK_COLOR, PANEL_COLOR, STYLE, SUSPECT_COLOR, plain


def plot_closeness(cosines, reference: str = "R", highlight: str | None = None) -> Figure:
    """Distribution of the per-prompt raw cosine to the reference, one row per model (from
    :func:`forensics.signals.raw_cosines`); ``highlight`` is drawn in the suspect's colour."""
    models = list(cosines.index)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.0, 1.2 + 0.55 * max(1, len(models))), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        rng = np.random.default_rng(0)  # vertical jitter only, for legibility
        for i, m in enumerate(models):
            v = cosines.loc[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            color = SUSPECT_COLOR if m == highlight else PANEL_COLOR
            ax.scatter(v, i + rng.uniform(-0.18, 0.18, v.size), s=9, alpha=0.55, color=color, linewidths=0)
            if v.size:
                ax.plot([np.median(v)] * 2, [i - 0.3, i + 0.3], color="#2b3440", linewidth=1.6)
        ax.set_yticks(range(len(models)), [plain(m) for m in models])
        ax.set_xlim(-0.1, 1.02)
        ax.set_xlabel(plain(f"per-prompt cosine of response embeddings with {reference}'s (bar: median)"))
        ax.set_title(plain(f"Closeness to {reference} (descriptive, uncalibrated)"))
    return fig


def plot_refusal_matrix(matrix: RefusalMatrix, highlight: Sequence[str] = ()) -> Figure:
    """Prompts (columns) x models (rows): dark = refused, light = answered, hatched grey = no
    response. Models named in ``highlight`` get their label in the suspect's colour."""
    M, P = matrix.refused.shape
    with matplotlib.rc_context(STYLE):
        fig = Figure(
            figsize=(min(14.0, 2.8 + 0.16 * max(P, 10)), 1.3 + 0.42 * max(M, 1)), dpi=100, layout="constrained"
        )
        ax = fig.add_subplot()
        if P:
            shown = np.where(np.isfinite(matrix.refused), matrix.refused, np.nan)
            cmap = ListedColormap(["#e8edf3", SUSPECT_COLOR]).with_extremes(bad="#b9c0c8")
            ax.imshow(np.ma.masked_invalid(shown), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks(range(P), [plain(p) for p in matrix.prompt_ids], rotation=90, fontsize=6)
        else:
            ax.text(0.5, 0.5, "no prompt was refused by any model", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
        ax.set_yticks(range(M), [plain(m) for m in matrix.models])
        for tick, m in zip(ax.get_yticklabels(), matrix.models):
            if m in highlight:
                tick.set_color(SUSPECT_COLOR)
                tick.set_fontweight("bold")
        ax.set_xlabel("prompt   (red: refused, light: answered, grey: no response)")
        ax.set_title("Who refuses which prompt")
    return fig


def plot_refusal_agreement(agreement, title: str = "Refusal agreement (Jaccard of refused prompts)") -> Figure:
    """Heat map of :func:`forensics.features.refusal_agreement`, each cell annotated with its value."""
    labels = list(agreement.index)
    V = agreement.to_numpy(dtype=float)
    with matplotlib.rc_context(STYLE):
        n = max(len(labels), 1)
        fig = Figure(figsize=(2.4 + 1.0 * n, 1.4 + 0.8 * n), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(np.ma.masked_invalid(V), cmap="Reds", vmin=0, vmax=1)
        for a in range(V.shape[0]):
            for b in range(V.shape[1]):
                text = "n/a" if not np.isfinite(V[a, b]) else f"{V[a, b]:.2f}"
                ax.text(
                    b,
                    a,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if np.isfinite(V[a, b]) and V[a, b] > 0.6 else "#2b3440",
                )
        ax.set_xticks(range(len(labels)), [plain(m) for m in labels], rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), [plain(m) for m in labels])
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(plain(title))
    return fig


def plot_error_consistency(consistency, reference: str = "R", highlight: str | None = None) -> Figure:
    """Two bar charts from :func:`forensics.features.error_consistency`: the share of R's wrong answers each model
    repeats word for word, and the error-consistency kappa; ``highlight`` in the suspect's colour."""
    models = list(consistency.index)
    colors = [SUSPECT_COLOR if m == highlight else PANEL_COLOR for m in models]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8.4, 1.2 + 0.45 * max(1, len(models))), dpi=100, layout="constrained")
        left, right = fig.subplots(1, 2, sharey=True)
        ys = np.arange(len(models))
        rate = consistency["same-wrong rate"].to_numpy(dtype=float) if models else np.array([])
        kappa = consistency["error kappa"].to_numpy(dtype=float) if models else np.array([])
        left.barh(ys, np.nan_to_num(rate), color=colors, height=0.6)
        for y, v, n in zip(ys, rate, consistency["R wrong"] if models else []):
            left.text(
                min(np.nan_to_num(v), 1.0) + 0.02,
                y,
                "n/a" if not np.isfinite(v) else f"{v:.2f} of {n}",
                va="center",
                fontsize=7.5,
            )
        left.set_xlim(0, 1.25)
        left.set_yticks(ys, [plain(m) for m in models])
        left.set_xlabel(plain(f"share of {reference}'s wrong answers repeated exactly"))
        left.set_title("Same wrong answer as R")
        right.barh(ys, np.nan_to_num(kappa), color=colors, height=0.6)
        for y, v in zip(ys, kappa):
            x = float(np.nan_to_num(v))
            right.text(
                x + (0.03 if x >= 0 else -0.03),
                y,
                "n/a (no variation)" if not np.isfinite(v) else f"{v:.2f}",
                va="center",
                ha="left" if x >= 0 else "right",
                fontsize=7.5,
            )
        right.axvline(0.0, color="#55606e", linewidth=0.8)
        right.set_xlim(-1.0, 1.0)
        right.set_xlabel("Cohen's kappa of right/wrong (0 = chance)")
        right.set_title("Error consistency")
    return fig


def plot_roc(roc: Mapping[str, dict], family: Mapping[str, dict] | None = None) -> Figure:
    """ROC curves from :func:`forensics.bench.roc_data` (solid), optionally the family ROC too (dashed)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(4.8, 4.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="#9aa5b1", linewidth=0.8, linestyle=":")
        palette = [SUSPECT_COLOR, PANEL_COLOR, OK_COLOR, "#7b4ea3"]
        for k, (name, d) in enumerate(sorted(roc.items())):
            color = palette[k % len(palette)]
            ax.plot(
                d["fpr"],
                d["tpr"],
                color=color,
                linewidth=2.0,
                label=plain(f"{name}: AUC {d['auc']:.3f} ({d['n_pos']} pos / {d['n_neg']} neg)"),
            )
            if family and name in family:
                f = family[name]
                ax.plot(
                    f["fpr"],
                    f["tpr"],
                    color=color,
                    linewidth=1.2,
                    linestyle="--",
                    label=plain(f"{name}, family: AUC {f['auc']:.3f} ({f['n_pos']} pos)"),
                )
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("false positive rate (independent suspects)")
        ax.set_ylabel("true positive rate (distilled suspects)")
        ax.set_title("Detection ROC of the combined statistic")
        if roc:
            ax.legend(loc="lower right", frameon=False, fontsize=7.5)
    return fig


def plot_sample_efficiency(table) -> Figure:
    """AUC (solid) and family AUC (dashed) against the number of prompts, per corpus, from
    :func:`forensics.bench.sample_efficiency`."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(5.6, 3.8), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        palette = [SUSPECT_COLOR, PANEL_COLOR, OK_COLOR, "#7b4ea3"]
        for k, (name, t) in enumerate(table.groupby("corpus", sort=True)):
            t = t.sort_values("prompts")
            color = palette[k % len(palette)]
            auc = t["AUC"].astype(float)
            if auc.notna().any():
                ax.plot(t["prompts"], auc, marker="o", color=color, label=plain(f"{name}: AUC"))
            fam = t["family AUC"].astype(float)
            if fam.notna().any():
                ax.plot(t["prompts"], fam, marker="s", linestyle="--", color=color, label=plain(f"{name}: family AUC"))
        ax.axhline(0.5, color="#9aa5b1", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        sizes = sorted({int(n) for n in table["prompts"]}) if len(table) else []
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_ylim(0.3, 1.02)
        ax.set_xlabel("prompts used (log scale; mean over random subsets)")
        ax.set_ylabel("AUC")
        ax.set_title("Sample efficiency")
        if len(table):
            ax.legend(loc="lower right", frameon=False, fontsize=7.5)
    return fig
