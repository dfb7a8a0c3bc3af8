"""Computations and figures for the investigator notebooks (``notebooks/``).

The notebooks stay thin: every table and figure they show is made here, so that the test suite
reaches it. As in :mod:`forensics.plots`, compute and present stay apart: ``*_table`` /
``*_matrix`` / ``*_summary`` functions return tables (``pandas.DataFrame``) or small result
objects, and ``plot_*`` functions take those and return :class:`matplotlib.figure.Figure`
objects (built without pyplot, nothing left open).

What is here and not elsewhere in the package:

* notebook plumbing: offline and quiet set-up, paths relative to the checkout, the embedded
  case's ``case.json`` (:class:`Case`), evidence verification as a table;
* verdicts as rounded tables and plain lines (the figures an nbval-checked cell prints must not
  change in the last digit between machines, so they are rounded coarsely here);
* *descriptive*, uncalibrated closeness to the reference (raw embedding cosine and verbatim
  matches), for cases whose panel is too small to calibrate the test;
* refusal deep dive: who refuses which prompts, pairwise agreement, refusal-phrase overlap;
* idiosyncratic errors: the answers every model commits to on answer-keyed probes, the wrong
  answers a suspect shares with the reference, and error consistency;
* the lineage benchmark's ROC curves and sample-efficiency curve.

The calibrated test, the verdicts and the per-signal figures live in :mod:`forensics.verdict`,
:mod:`forensics.statistics` and :mod:`forensics.plots`; nothing here re-implements them.
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from forensics.corpus import Corpus

__all__ = [
    "DEMO_CASE_DIR", "repo_root", "resolve_path", "notebook_setup", "quiet_embedder",
    "Case", "load_case", "verify_table", "Investigation", "open_investigation", "collect_subjects",
    "verdict_figure",
    "fmt_p", "fmt_num", "verdict_line", "findings_table", "caveats", "expectation_table",
    "raw_cosines", "closeness_summary", "plot_closeness",
    "RefusalMatrix", "refusal_matrix", "refusal_agreement", "refusal_phrase_table", "phrase_overlap_summary",
    "plot_refusal_matrix", "plot_refusal_agreement",
    "answer_table", "shared_errors", "error_consistency", "plot_error_consistency",
    "benchmark_available", "embed_benchmark", "pair_table", "roc_data", "plot_roc", "sample_efficiency",
    "plot_sample_efficiency",
]

DEMO_CASE_DIR = Path(__file__).parent / "demo_case"
_BENCH_ROLES = ("reference", "distilled", "independent")  # the models the lineage benchmark scores
SMALL_PANEL = 3  # fewer independent panel members than this: the calibration is thin

# Verdict labels that say a subject is derived from the reference (kept in step with forensics.verdict).
_DERIVED = ("same model or direct derivative", "distilled from R")


# ---------------------------------------------------------------------------------------------
# Notebook plumbing
# ---------------------------------------------------------------------------------------------

def repo_root() -> Path | None:
    """The checkout this package runs from (the folder holding ``pyproject.toml``), or None when
    the package is installed elsewhere."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "forensics").is_dir() else None


def resolve_path(path: str | os.PathLike, base: str | os.PathLike | None = None) -> Path:
    """``path`` as given when absolute; otherwise relative to ``base``, by default the checkout's
    root (or the current directory outside a checkout), so a notebook finds the same files
    whether it runs from ``notebooks/``, from the repository root or under papermill."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    root = Path(base) if base is not None else (repo_root() or Path.cwd())
    return Path(os.path.normpath(root / p))


def notebook_setup(cache_dir: str | os.PathLike | None = None, quiet: bool = True) -> dict:
    """Offline, quiet and reproducible notebook defaults; returns what it set.

    * never reach a model hub (``HF_HUB_OFFLINE`` and friends);
    * the embedding cache in ``cache_dir`` (relative paths from the checkout's root), else in
      ``$FORENSICS_CACHE_DIR`` when set, else in the checkout's ``.cache/forensics`` so notebooks
      share the cache of the command line and the tests;
    * with ``quiet``: no progress bars (tqdm, Hugging Face), no numpy warnings about empty
      slices (which the statistics raise, harmlessly, when a test is undefined); call it
      before importing what loads models;
    * in IPython, figures are shown inline.
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cache_dir is not None:
        os.environ["FORENSICS_CACHE_DIR"] = str(resolve_path(cache_dir))
    elif not os.environ.get("FORENSICS_CACHE_DIR"):
        os.environ["FORENSICS_CACHE_DIR"] = str((repo_root() or Path.cwd()) / ".cache" / "forensics")
    if quiet:
        os.environ["TQDM_DISABLE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        for pattern in ("Mean of empty slice", "Degrees of freedom <= 0", "invalid value encountered"):
            warnings.filterwarnings("ignore", message=pattern, category=RuntimeWarning)
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        except Exception:  # pragma: no cover - transformers is a dependency of sentence-transformers
            pass
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with jupyter
        shell = None
    if shell is not None and hasattr(shell, "run_line_magic"):
        shell.run_line_magic("matplotlib", "inline")
    return {"cache_dir": os.environ["FORENSICS_CACHE_DIR"], "offline": True, "quiet": quiet}


def quiet_embedder(model_name_or_path=None, max_seq_length: int = 128):
    """The process-wide :func:`forensics.embeddings.get_embedder` instance, with its progress bar off
    (it is the one :class:`forensics.signals.Features` uses by default)."""
    from forensics.embeddings import get_embedder

    embedder = get_embedder(model_name_or_path, max_seq_length=max_seq_length)
    embedder.show_progress = False
    return embedder


# ---------------------------------------------------------------------------------------------
# Cases (case.json) and evidence
# ---------------------------------------------------------------------------------------------

@dataclass
class Case:
    """A case folder described by ``case.json`` (as written by :mod:`forensics.demo`)."""

    name: str
    directory: Path
    reference: str
    subjects: list[dict] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [s["label"] for s in self.subjects]

    @property
    def suspects(self) -> list[str]:
        return [s["label"] for s in self.subjects if s.get("role") == "suspect"]

    @property
    def replicates(self) -> list[str]:
        """Subjects that are the reference sampled again (role ``replicate``)."""
        return [s["label"] for s in self.subjects if s.get("role") == "replicate"]

    @property
    def logs(self) -> list[Path]:
        return [self.directory / s.get("log", f"{s['label']}.jsonl") for s in self.subjects]

    def subject(self, label: str) -> dict:
        for s in self.subjects:
            if s["label"] == label:
                return s
        raise KeyError(f"no subject {label!r} in case {self.name!r} (subjects: {', '.join(self.labels)})")

    def expected(self, label: str) -> str | None:
        return self.subject(label).get("expected_verdict")

    def panel_for(self, suspect: str) -> list[str]:
        """The control panel for ``suspect``: every other subject except the reference, its
        replicates and the subjects the case says are derived from the reference (a copy of R in
        the panel would make "independent models" look like R and hide what the test looks for)."""
        return [s["label"] for s in self.subjects
                if s["label"] not in (self.reference, suspect, *self.replicates)
                and s.get("expected_verdict") not in _DERIVED]

    def decoding_table(self):
        """Who is who, and how each subject was decoded."""
        import pandas as pd

        rows = []
        for s in self.subjects:
            d = s.get("decoding") or {}
            rows.append({"label": s["label"], "role": s.get("role"), "weights": s.get("weights"),
                         "temperature": d.get("temperature"), "top_p": d.get("top_p"),
                         "max_tokens": d.get("max_tokens"), "seed": d.get("seed"),
                         "system prompt": "yes" if d.get("system_prompt") else "no",
                         "expected verdict": s.get("expected_verdict") or ""})
        return pd.DataFrame(rows).set_index("label")


def load_case(case_dir: str | os.PathLike | None = None) -> Case:
    """Read ``case.json`` of ``case_dir`` (None: the embedded demo case)."""
    directory = DEMO_CASE_DIR if case_dir is None else resolve_path(case_dir)
    path = directory / "case.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no case.json, so {directory} is not a case folder")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Case(name=data.get("name", directory.name), directory=directory, reference=data["reference"],
                subjects=list(data.get("subjects") or ()))


def verify_table(paths: Iterable[str | os.PathLike]):
    """Verify every evidence log (folders expand to their logs) and return one row per log:
    file name, records, chain head. Raises :class:`forensics.evidence.EvidenceError` naming the
    first log that fails, so nothing downstream runs on evidence that does not check out."""
    import pandas as pd

    from forensics.evidence import EvidenceError, iter_logs, verify

    rows = []
    logs = list(iter_logs([Path(p) for p in paths]))
    if not logs:
        raise FileNotFoundError("no evidence logs found in " + ", ".join(map(str, paths)))
    for log in logs:
        result = verify(log)
        if not result.ok:
            raise EvidenceError(result.describe())
        rows.append({"log": Path(result.path).name, "verified": "OK", "records": result.n_records,
                     "head": result.head[:16]})
    return pd.DataFrame(rows).set_index("log")


@dataclass
class Investigation:
    """What a deep-dive notebook works on: verified evidence loaded as a corpus, who is who, and
    the per-response features shared by every table (embeddings computed once, cached on disk)."""

    corpus: Corpus
    reference: str
    suspect: str
    panel: list[str]
    logs: list[Path]
    features: object
    case: Case | None = None
    replicates: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        """Reference, suspect, then the panel: the order tables and figures use."""
        return [self.reference, self.suspect, *self.panel]

    def describe(self) -> str:
        return (f"reference {self.reference}; suspect {self.suspect}; panel of {len(self.panel)}: "
                f"{', '.join(self.panel) or '(none)'}; "
                + (f"replicates of the reference: {', '.join(self.replicates)}; " if self.replicates else "")
                + f"{len(self.corpus.prompts)} prompts from "
                f"{len(self.logs)} verified log{'s' if len(self.logs) != 1 else ''}")


def open_investigation(case_dir: str | os.PathLike | None = None, evidence: Sequence[str | os.PathLike] | None = None,
                       reference: str | None = None, suspect: str | None = None,
                       panel: Sequence[str] | None = None, replicates: Sequence[str] | None = None,
                       embedder=None) -> Investigation:
    """Verify and load the evidence and settle who is who.

    ``evidence``: evidence logs or folders (None: the logs of the case in ``case_dir``, by default
    the embedded demo case). ``reference``/``suspect``: labels (None: the case's reference and its
    first suspect; required when ``evidence`` is given without ``case_dir``). ``panel``: control
    labels (None: :meth:`Case.panel_for` when a case is known, else every other label in the
    evidence but the replicates). ``replicates``: labels of the reference sampled again (None: the
    case's, when the case's reference is analysed; else none). Every log is verified first: a
    failing log raises :class:`forensics.evidence.EvidenceError` and nothing is analysed."""
    from forensics.corpus import load_evidence
    from forensics.evidence import iter_logs
    from forensics.signals import Features

    case = load_case(case_dir) if evidence is None or case_dir is not None else None
    logs = list(iter_logs([resolve_path(p) for p in evidence])) if evidence is not None else list(case.logs)
    verify_table(logs)
    corpus = load_evidence(logs, name=case.name if case and evidence is None else "evidence")
    reference = reference or (case.reference if case else None)
    suspect = suspect or (case.suspects[0] if case and case.suspects else None)
    if reference is None or suspect is None:
        raise ValueError("name the reference and the suspect (no case.json to take them from)")
    in_case = case is not None and reference == case.reference and suspect in case.labels
    if replicates is None:
        replicates = case.replicates if in_case else []
    replicates = [m for m in replicates if m not in (reference, suspect)]
    if panel is None:
        panel = case.panel_for(suspect) if in_case else [m for m in corpus.models
                                                         if m not in (reference, suspect, *replicates)]
    panel = [m for m in panel if m not in (reference, suspect, *replicates)]
    for role, names in (("reference", [reference]), ("suspect", [suspect]), ("panel", panel),
                        ("replicate", replicates)):
        for name in names:
            if name not in corpus.responses:
                raise ValueError(f"unknown {role} label {name!r} (labels in the evidence: {', '.join(corpus.models)})")
    features = Features(corpus, embedder=embedder if embedder is not None else quiet_embedder())
    return Investigation(corpus, reference, suspect, list(panel), logs, features, case, list(replicates))


def collect_subjects(model_specs: Mapping[str, str], evidence_dir: str | os.PathLike, decoding=None, *,
                     probe_sets: Sequence[str | os.PathLike] | None = None, families: Iterable[str] | None = None,
                     per_family: int | None = None, concurrency: int = 1, command: list[str] | None = None):
    """Collect every subject of ``model_specs`` (label -> model string, e.g.
    ``"openai-compatible:smollm2@http://127.0.0.1:8765/v1"``) into ``evidence_dir/<label>.jsonl``
    with :func:`forensics.collection.collect` (resumable: a rerun sends only what is missing).

    ``probe_sets``: probe-set files or folders (None: the curated ``probe_sets/``), narrowed to
    ``families`` and to the first ``per_family`` probes of each family. The embedded demo case is
    read-only: collecting into it is refused. Returns one row per subject."""
    import pandas as pd

    from forensics.collection import collect
    from forensics.models import Decoding
    from forensics.probes import load_probe_sets, select_probes

    directory = resolve_path(evidence_dir)
    if directory.resolve() == DEMO_CASE_DIR.resolve():
        raise ValueError("the embedded demo case is read-only evidence: set evidence_dir to a folder of your own "
                         "before collecting")
    if not model_specs:
        raise ValueError("model_specs is empty: name each subject's model string (label -> model)")
    sets = select_probes(load_probe_sets([resolve_path(p) for p in probe_sets] if probe_sets else None),
                         families, per_family)
    if not sets:
        raise ValueError("no probes selected")
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, spec in model_specs.items():
        summary = collect(spec, sets, directory / f"{label}.jsonl", decoding or Decoding(), label=label,
                          concurrency=concurrency, progress=False, command=command)
        rows.append({"label": label, "log": Path(summary.log).name, "new": summary.succeeded,
                     "already recorded": summary.already_done, "failed": summary.failed,
                     "seconds": round(summary.wall_s, 1)})
    return pd.DataFrame(rows).set_index("label")


# ---------------------------------------------------------------------------------------------
# Verdicts, rounded for people (and for nbval)
# ---------------------------------------------------------------------------------------------

def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_p(p, alpha: float | None = None) -> str:
    """A p-value at a resolution that does not flicker: '<0.001', '0.004', '0.23', 'n/a'."""
    if not _finite(p):
        return "n/a"
    p = float(p)
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_num(x, digits: int = 1) -> str:
    """A rounded number, '+inf'/'-inf' for infinities, 'n/a' for NaN or None."""
    if x is None:
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    out = f"{x:.{digits}f}"
    return "0." + "0" * digits if out.lstrip("-") == "0." + "0" * digits else out  # no "-0.0"


def verdict_line(verdict) -> str:
    """One plain line: the label, its strength, the test it rests on (the combined panel test's
    p-value and effect size, or the replicate test's), the panel."""
    ci = tuple(verdict.ci or (None, None))
    units = getattr(verdict.test, "n_panel", len(verdict.panel))
    if getattr(verdict, "basis", "panel") == "replicate":
        evidence = (f"replicate test p {fmt_p(verdict.p_value)}, relative closeness {fmt_num(verdict.effect_size, 2)} "
                    f"[{fmt_num(ci[0], 2)}, {fmt_num(ci[1], 2)}] (0 = controls, 1 = R resampled)")
    else:
        evidence = (f"combined p {fmt_p(verdict.p_value)}, effect {fmt_num(verdict.effect_size)} panel SD "
                    f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}]")
    return (f"{verdict.suspect} vs {verdict.reference}: {verdict.label} (strength: {verdict.strength}); "
            f"{evidence}; {verdict.n_prompts} prompts; "
            f"panel of {len(verdict.panel)} ({units} independent unit{'s' if units != 1 else ''})")


def replicate_line(verdict) -> str:
    """The replicate test of a verdict in one line (or why there is none)."""
    rep = getattr(verdict, "replicate", None)
    if rep is None:
        return f"{verdict.suspect}: no replicate of {verdict.reference} was given"
    ci, gap = tuple(rep.ci), tuple(rep.gap_ci)
    head = (f"{verdict.suspect}: mean cosine to {verdict.reference} {fmt_num(rep.suspect_closeness, 2)}, "
            f"{verdict.reference} resampled {fmt_num(rep.replicate_closeness, 2)}, "
            f"controls {fmt_num(rep.control_closeness, 2)}; ")
    if not rep.defined:
        return (head + f"at least as close as the resample on {rep.self_share:.0%} of {rep.n_prompts} prompts "
                f"(gap {fmt_num(rep.gap, 2)} [{fmt_num(gap[0], 2)}, {fmt_num(gap[1], 2)}]); test undefined: {rep.note}")
    return (head + f"relative closeness {fmt_num(rep.relative_closeness, 2)} [{fmt_num(ci[0], 2)}, "
            f"{fmt_num(ci[1], 2)}], p {fmt_p(rep.p_value)} (H0: at most 1/2); at least as close as the resample on "
            f"{rep.self_share:.0%} of {rep.n_prompts} prompts")


def findings_table(verdict):
    """Per-signal findings of a :class:`forensics.verdict.Verdict`, rounded: effect size in panel
    SDs with its CI, p-value, whether the signal alone supports distillation, its weight in the
    combined test, and why it is undefined when it is."""
    import pandas as pd

    weights = dict(getattr(verdict.test, "weights", {}) or {})
    rows = []
    for f in verdict.findings:
        ci = tuple(f.ci or (None, None))
        rows.append({"signal": f.signal, "defined": bool(f.defined), "effect (panel SD)": fmt_num(f.effect_size),
                     "95% CI": f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}]" if f.defined else "",
                     "p": fmt_p(f.p_value), "supports": "yes" if f.supports else "no",
                     "weight": fmt_num(weights.get(f.signal), 2) if f.defined else "",
                     "note": f.note or ""})
    return pd.DataFrame(rows).set_index("signal")


def caveats(verdict, small_panel: int = SMALL_PANEL) -> list[str]:
    """What limits this verdict, in words: the engine's own notes, a thin or missing panel,
    undefined signals, and a same-model check that could not run."""
    out = list(verdict.notes or ())
    units = getattr(verdict.test, "n_panel", len(verdict.panel))
    if units < 2:
        out.append(f"the panel has {units} independent member{'s' if units != 1 else ''}: at least 2 are needed "
                   "to calibrate the distillation test at all, so 'distilled from R' cannot be reached whatever "
                   "the suspect did; record more independent models on the same probes")
    elif units < small_panel:
        out.append(f"the panel is thin ({units} independent members): the test is calibrated but has little "
                   f"power, and p-values cannot go far below what {units} controls allow")
    undefined = [f.signal for f in verdict.findings if not f.defined]
    if undefined and units >= 2:
        out.append("signals undefined on this evidence: " + ", ".join(undefined))
    if (verdict.same_model or {}).get("share") is None and getattr(verdict, "replicate", None) is None:
        out.append("the same-model check (beating the closest pair of independent panel models) needs 2 panel "
                   "members from different groups and did not run; a replicate of R would allow the replicate "
                   "test instead")
    return list(dict.fromkeys(out))


def expectation_table(verdicts: Sequence, case: Case):
    """Each suspect's verdict beside the verdict the case's construction implies."""
    import pandas as pd

    rows = []
    for v in verdicts:
        expected = case.expected(v.suspect)
        rows.append({"suspect": v.suspect, "expected": expected or "(not stated)", "verdict": v.label,
                     "strength": v.strength, "matches": "yes" if expected == v.label else
                     ("n/a" if expected is None else "NO")})
    return pd.DataFrame(rows).set_index("suspect")


def verdict_figure(verdict) -> Figure:
    """The test a verdict rests on: the combined test as :func:`forensics.plots.signal_plot` draws
    it (the suspect's statistic against the null, and every model's composite closeness to R), or
    the replicate test as :func:`forensics.plots.replicate_plot` draws it (also when only its
    descriptive part is defined); when there is nothing to draw, a figure that says why."""
    from forensics import plots

    replicate = getattr(verdict, "replicate", None)
    if getattr(verdict.test, "defined", False):
        return plots.signal_plot(verdict.test, suspect=verdict.suspect, reference=verdict.reference,
                                 title=f"{verdict.suspect}: all signals combined")
    if replicate is not None:  # the replicate test, or at least how the suspect compares with R's resample
        return plots.replicate_plot(replicate, suspect=verdict.suspect, reference=verdict.reference)
    why = (verdict.notes or ["the combined test is undefined"])[0]
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(7.6, 1.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        ax.set_title(plots.plain(f"{verdict.suspect}: no calibrated test to draw"))
        ax.text(0.0, 0.5, plots.plain(why + f" (panel: {', '.join(verdict.panel) or 'none'})"),
                transform=ax.transAxes, va="center", ha="left", wrap=True)
    return fig


# ---------------------------------------------------------------------------------------------
# Descriptive (uncalibrated) closeness
# ---------------------------------------------------------------------------------------------

def raw_cosines(corpus: Corpus, reference: str, models: Sequence[str], features=None,
                prompt_ids: Sequence[str] | None = None):
    """Per-prompt cosine between each model's response embedding and the reference's, uncentred
    (models x prompts, NaN where either response is missing or empty). Descriptive only: unlike
    the ``embedding`` signal it does not remove what every model says to a prompt."""
    import pandas as pd

    from forensics.signals import embedding_signal

    pids = list(prompt_ids) if prompt_ids is not None else corpus.common_prompts([reference])
    cosines = embedding_signal(corpus, reference, models, features, pids)
    return pd.DataFrame(cosines.values, index=list(models), columns=pids)


def closeness_summary(corpus: Corpus, reference: str, models: Sequence[str], features=None,
                      prompt_ids: Sequence[str] | None = None, near: float = 0.9):
    """How close each model's answers are to the reference's, with no statistics: mean and median
    raw cosine, share of prompts above ``near`` and share answered word for word the same.

    Without a panel to calibrate against this proves nothing by itself (answers to the same
    prompt are similar across all models); it shows what the calibrated test would work with."""
    import pandas as pd

    cos = raw_cosines(corpus, reference, models, features, prompt_ids)
    rows = []
    for m in models:
        v = cos.loc[m].to_numpy(dtype=float)
        ok = np.isfinite(v)
        same = [(corpus.text(m, p) or "").strip() == (corpus.text(reference, p) or "").strip()
                for p, good in zip(cos.columns, ok) if good]
        rows.append({"model": m, "prompts": int(ok.sum()),
                     "mean cosine": round(float(np.mean(v[ok])), 2) if ok.any() else float("nan"),
                     "median cosine": round(float(np.median(v[ok])), 2) if ok.any() else float("nan"),
                     f"share cosine >= {near}": round(float(np.mean(v[ok] >= near)), 2) if ok.any() else float("nan"),
                     "share verbatim": round(float(np.mean(same)), 2) if same else float("nan")})
    return pd.DataFrame(rows).set_index("model")


def plot_closeness(cosines, reference: str = "R", highlight: str | None = None) -> Figure:
    """Distribution of the per-prompt raw cosine to the reference, one row per model (from
    :func:`raw_cosines`); ``highlight`` is drawn in the suspect's colour."""
    from forensics import plots

    models = list(cosines.index)
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(7.0, 1.2 + 0.55 * max(1, len(models))), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        rng = np.random.default_rng(0)  # vertical jitter only, for legibility
        for i, m in enumerate(models):
            v = cosines.loc[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            color = plots.SUSPECT_COLOR if m == highlight else plots.PANEL_COLOR
            ax.scatter(v, i + rng.uniform(-0.18, 0.18, v.size), s=9, alpha=0.55, color=color, linewidths=0)
            if v.size:
                ax.plot([np.median(v)] * 2, [i - 0.3, i + 0.3], color="#2b3440", linewidth=1.6)
        ax.set_yticks(range(len(models)), [plots.plain(m) for m in models])
        ax.set_xlim(-0.1, 1.02)
        ax.set_xlabel(plots.plain(f"per-prompt cosine of response embeddings with {reference}'s (bar: median)"))
        ax.set_title(plots.plain(f"Closeness to {reference} (descriptive, uncalibrated)"))
    return fig


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

def _phrase_tokens(phrase: str | None) -> set[str]:
    """Word tokens of a canonical refusal phrase (the tokenisation the refusal signal uses)."""
    return set(re.findall(r"\w+(?:'\w+)?", (phrase or "").lower()))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a | b) else 1.0


@dataclass
class RefusalMatrix:
    """Who refuses which prompt: ``refused[i, j]`` is 1.0 when ``models[i]`` refused prompt
    ``prompt_ids[j]``, 0.0 when it answered, NaN when it has no (non-empty) response.
    ``phrases[model][prompt_id]`` is the canonical refusal phrase where it refused."""

    models: list[str]
    prompt_ids: list[str]
    refused: np.ndarray
    phrases: dict[str, dict[str, str | None]]
    families: list[str | None]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.refused, index=self.models, columns=self.prompt_ids)

    def rates(self):
        """Per model: responses, refusals and refusal rate."""
        import pandas as pd

        rows = []
        for m, row in zip(self.models, self.refused):
            ok = np.isfinite(row)
            rows.append({"model": m, "responses": int(ok.sum()), "refusals": int(np.nansum(row)),
                         "refusal rate": round(float(np.nanmean(row)), 2) if ok.any() else float("nan")})
        return pd.DataFrame(rows).set_index("model")


def refusal_matrix(corpus: Corpus, models: Sequence[str], features=None, prompt_ids: Sequence[str] | None = None,
                   families: Iterable[str] | None = None, only_refused: bool = False) -> RefusalMatrix:
    """Refusal decisions of every model on every prompt, by the package's refusal detector
    (through :class:`forensics.signals.Features`, so the signal and this table agree).

    ``families``: only prompts of these probe families (``corpus.meta[pid]["family"]``).
    ``only_refused``: keep only prompts that at least one model refused (the rest say nothing
    about *who* refuses)."""
    from forensics.signals import Features

    features = features or Features(corpus)
    models = list(models)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    if families is not None:
        wanted = set(families)
        pids = [p for p in pids if (corpus.meta.get(p) or {}).get("family") in wanted]
    refused = np.full((len(models), len(pids)), np.nan)
    phrases: dict[str, dict[str, str | None]] = {}
    for i, m in enumerate(models):
        phrases[m] = {}
        for j, r in enumerate(features.refusals(m, pids)):
            if r is None:
                continue
            refused[i, j] = float(r[0])
            phrases[m][pids[j]] = r[1]
    if only_refused and pids:
        keep = np.nansum(refused, axis=0) > 0
        pids = [p for p, k in zip(pids, keep) if k]
        refused = refused[:, keep]
    fams = [(corpus.meta.get(p) or {}).get("family") for p in pids]
    return RefusalMatrix(models, pids, refused, phrases, fams)


def refusal_agreement(matrix: RefusalMatrix, kind: str = "jaccard"):
    """Pairwise refusal agreement (models x models) over prompts both models answered.

    ``kind="jaccard"``: refused by both / refused by either (NaN when neither refuses anything):
    "do they refuse the *same* prompts". ``kind="agreement"``: share of prompts with the same
    decision (refuse or answer)."""
    import pandas as pd

    if kind not in ("jaccard", "agreement"):
        raise ValueError(f"kind must be 'jaccard' or 'agreement', not {kind!r}")
    M = len(matrix.models)
    out = np.full((M, M), np.nan)
    for a in range(M):
        for b in range(M):
            x, y = matrix.refused[a], matrix.refused[b]
            ok = np.isfinite(x) & np.isfinite(y)
            if not ok.any():
                continue
            xa, yb = x[ok] > 0.5, y[ok] > 0.5
            if kind == "agreement":
                out[a, b] = float(np.mean(xa == yb))
            elif (xa | yb).any():
                out[a, b] = float((xa & yb).sum() / (xa | yb).sum())
    return pd.DataFrame(out, index=matrix.models, columns=matrix.models)


def refusal_phrase_table(matrix: RefusalMatrix, reference: str):
    """Every prompt where the reference and another model both refuse: the two canonical refusal
    phrases and their token overlap (Jaccard), the quantity the ``refusal`` signal weighs."""
    import pandas as pd

    rows = []
    ref_phrases = matrix.phrases.get(reference, {})
    r_i = matrix.models.index(reference)
    for i, m in enumerate(matrix.models):
        if m == reference:
            continue
        for j, p in enumerate(matrix.prompt_ids):
            if matrix.refused[r_i, j] == 1.0 and matrix.refused[i, j] == 1.0:
                a, b = ref_phrases.get(p), matrix.phrases[m].get(p)
                rows.append({"model": m, "prompt_id": p, "reference phrase": a or "", "model phrase": b or "",
                             "overlap": round(_jaccard(_phrase_tokens(a), _phrase_tokens(b)), 2),
                             "identical": (a or "") == (b or "")})
    columns = ["model", "prompt_id", "reference phrase", "model phrase", "overlap", "identical"]
    return pd.DataFrame(rows, columns=columns)


def phrase_overlap_summary(matrix: RefusalMatrix, reference: str):
    """Per model, against the reference: prompts the reference refused, how many of those the
    model refused too, its refusals the reference did not make, and how alike the refusal
    phrases are where both refuse (mean token overlap, identical phrases)."""
    import pandas as pd

    table = refusal_phrase_table(matrix, reference)
    r = matrix.refused[matrix.models.index(reference)]
    rows = []
    for i, m in enumerate(matrix.models):
        if m == reference:
            continue
        x = matrix.refused[i]
        ok = np.isfinite(x) & np.isfinite(r)
        both = table[table["model"] == m]
        rows.append({"model": m, "R refused": int((r[ok] == 1).sum()),
                     "also refused": int(((r[ok] == 1) & (x[ok] == 1)).sum()),
                     "refused, R did not": int(((r[ok] == 0) & (x[ok] == 1)).sum()),
                     "mean phrase overlap": round(float(both["overlap"].mean()), 2) if len(both) else float("nan"),
                     "identical phrases": int(both["identical"].sum()) if len(both) else 0})
    return pd.DataFrame(rows).set_index("model")


def plot_refusal_matrix(matrix: RefusalMatrix, highlight: Sequence[str] = ()) -> Figure:
    """Prompts (columns) x models (rows): dark = refused, light = answered, hatched grey = no
    response. Models named in ``highlight`` get their label in the suspect's colour."""
    from matplotlib.colors import ListedColormap

    from forensics import plots

    M, P = matrix.refused.shape
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(min(14.0, 2.8 + 0.16 * max(P, 10)), 1.3 + 0.42 * max(M, 1)), dpi=100,
                     layout="constrained")
        ax = fig.add_subplot()
        if P:
            shown = np.where(np.isfinite(matrix.refused), matrix.refused, np.nan)
            cmap = ListedColormap(["#e8edf3", plots.SUSPECT_COLOR]).with_extremes(bad="#b9c0c8")
            ax.imshow(np.ma.masked_invalid(shown), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks(range(P), [plots.plain(p) for p in matrix.prompt_ids], rotation=90, fontsize=6)
        else:
            ax.text(0.5, 0.5, "no prompt was refused by any model", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_xticks([])
        ax.set_yticks(range(M), [plots.plain(m) for m in matrix.models])
        for tick, m in zip(ax.get_yticklabels(), matrix.models):
            if m in highlight:
                tick.set_color(plots.SUSPECT_COLOR)
                tick.set_fontweight("bold")
        ax.set_xlabel("prompt   (red: refused, light: answered, grey: no response)")
        ax.set_title("Who refuses which prompt")
    return fig


def plot_refusal_agreement(agreement, title: str = "Refusal agreement (Jaccard of refused prompts)") -> Figure:
    """Heat map of :func:`refusal_agreement`, each cell annotated with its value."""
    from forensics import plots

    labels = list(agreement.index)
    V = agreement.to_numpy(dtype=float)
    with matplotlib.rc_context(plots.STYLE):
        n = max(len(labels), 1)
        fig = Figure(figsize=(2.4 + 1.0 * n, 1.4 + 0.8 * n), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(np.ma.masked_invalid(V), cmap="Reds", vmin=0, vmax=1)
        for a in range(V.shape[0]):
            for b in range(V.shape[1]):
                text = "n/a" if not np.isfinite(V[a, b]) else f"{V[a, b]:.2f}"
                ax.text(b, a, text, ha="center", va="center", fontsize=8,
                        color="white" if np.isfinite(V[a, b]) and V[a, b] > 0.6 else "#2b3440")
        ax.set_xticks(range(len(labels)), [plots.plain(m) for m in labels], rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), [plots.plain(m) for m in labels])
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(plots.plain(title))
    return fig


# ---------------------------------------------------------------------------------------------
# Idiosyncratic errors
# ---------------------------------------------------------------------------------------------

def _key_text(key) -> str:
    """An answer key in words: the number, the first accepted answer, or the regex."""
    if key is None:
        return ""
    if getattr(key, "number", None) is not None:
        n = float(key.number)
        return str(int(n)) if n.is_integer() else f"{n:g}"
    if getattr(key, "accept", None):
        return str(key.accept[0])
    return f"/{key.regex}/" if getattr(key, "regex", None) else ""


def answer_table(corpus: Corpus, models: Sequence[str], features=None, prompt_ids: Sequence[str] | None = None):
    """The answer each model commits to on every answer-keyed prompt (long format: one row per
    prompt and model): the extracted answer, whether it is correct, and the key. The extraction
    is the one the ``idiosyncratic`` signal uses (:meth:`forensics.signals.Features.answers`)."""
    import pandas as pd

    from forensics.signals import Features

    features = features or Features(corpus)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    keyed = [p for p in pids if hasattr((corpus.meta.get(p) or {}).get("answer"), "check")]
    rows = []
    for m in models:
        for p, a in zip(keyed, features.answers(m, keyed)):
            if a is None:
                continue
            rows.append({"prompt_id": p, "model": m, "answer": a[1], "correct": bool(a[0]),
                         "key": _key_text(corpus.meta[p]["answer"]), "prompt": corpus.prompts.get(p, "")})
    return pd.DataFrame(rows, columns=["prompt_id", "model", "answer", "correct", "key", "prompt"])


def shared_errors(answers, reference: str, suspect: str, panel: Sequence[str]):
    """Prompts where ``suspect`` commits to the same WRONG answer as ``reference``, with how many
    panel members (and which) gave that same wrong answer too. A wrong answer shared with R and
    with nobody in the panel is the strongest trace of copying; one the panel shares as well is a
    common mistake, not a fingerprint."""
    import pandas as pd

    columns = ["prompt_id", "prompt", "key", "shared wrong answer", "panel with same answer", "panel answered"]
    if answers.empty:
        return pd.DataFrame(columns=columns).set_index("prompt_id")
    by = {(r.prompt_id, r.model): r for r in answers.itertuples(index=False)}
    rows = []
    for pid in sorted({p for p, m in by if m == reference}):
        r, s = by.get((pid, reference)), by.get((pid, suspect))
        if r is None or s is None or r.correct or r.answer is None or s.answer != r.answer:
            continue
        answered = [m for m in panel if (pid, m) in by]
        same = [m for m in answered if by[(pid, m)].answer == r.answer]
        rows.append({"prompt_id": pid, "prompt": r.prompt, "key": r.key, "shared wrong answer": r.answer,
                     "panel with same answer": ", ".join(same) if same else "none",
                     "panel answered": len(answered)})
    return pd.DataFrame(rows, columns=columns).set_index("prompt_id")


def error_consistency(answers, reference: str, models: Sequence[str]):
    """Per model, against the reference, on the answer-keyed prompts both answered:

    * ``R wrong``: prompts where the reference is wrong; ``same wrong``: of those, where the
      model commits to the very same wrong answer; ``same-wrong rate`` = same wrong / R wrong
      (the quantity of the ``idiosyncratic`` signal);
    * ``accuracy`` of the model, and ``error kappa``: Cohen's kappa of the right/wrong pattern
      (error consistency, Geirhos et al. 2020), 0 when two models err on prompts no more alike
      than their accuracies imply by chance, 1 when they err on exactly the same prompts.
    """
    import pandas as pd

    by = {(r.prompt_id, r.model): r for r in answers.itertuples(index=False)} if not answers.empty else {}
    rows = []
    for m in models:
        if m == reference:
            continue
        pids = sorted(p for p, mm in by if mm == m and (p, reference) in by)
        rc = np.array([by[(p, reference)].correct for p in pids], dtype=bool)
        mc = np.array([by[(p, m)].correct for p in pids], dtype=bool)
        r_wrong = [p for p in pids if not by[(p, reference)].correct and by[(p, reference)].answer is not None]
        same = [p for p in r_wrong if by[(p, m)].answer == by[(p, reference)].answer]
        kappa = float("nan")
        if len(pids):
            observed = float(np.mean(rc == mc))
            pr, pm = rc.mean(), mc.mean()
            expected = pr * pm + (1 - pr) * (1 - pm)
            kappa = (observed - expected) / (1 - expected) if expected < 1 else float("nan")
        rows.append({"model": m, "keyed prompts": len(pids), "accuracy": round(float(mc.mean()), 2) if len(pids) else
                     float("nan"), "R wrong": len(r_wrong), "same wrong": len(same),
                     "same-wrong rate": round(len(same) / len(r_wrong), 2) if r_wrong else float("nan"),
                     "error kappa": round(kappa, 2) if np.isfinite(kappa) else float("nan")})
    return pd.DataFrame(rows, columns=["model", "keyed prompts", "accuracy", "R wrong", "same wrong",
                                       "same-wrong rate", "error kappa"]).set_index("model")


def plot_error_consistency(consistency, reference: str = "R", highlight: str | None = None) -> Figure:
    """Two bar charts from :func:`error_consistency`: the share of R's wrong answers each model
    repeats word for word, and the error-consistency kappa; ``highlight`` in the suspect's colour."""
    from forensics import plots

    models = list(consistency.index)
    colors = [plots.SUSPECT_COLOR if m == highlight else plots.PANEL_COLOR for m in models]
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(8.4, 1.2 + 0.45 * max(1, len(models))), dpi=100, layout="constrained")
        left, right = fig.subplots(1, 2, sharey=True)
        ys = np.arange(len(models))
        rate = consistency["same-wrong rate"].to_numpy(dtype=float) if models else np.array([])
        kappa = consistency["error kappa"].to_numpy(dtype=float) if models else np.array([])
        left.barh(ys, np.nan_to_num(rate), color=colors, height=0.6)
        for y, v, n in zip(ys, rate, consistency["R wrong"] if models else []):
            left.text(min(np.nan_to_num(v), 1.0) + 0.02, y, "n/a" if not np.isfinite(v) else f"{v:.2f} of {n}",
                      va="center", fontsize=7.5)
        left.set_xlim(0, 1.25)
        left.set_yticks(ys, [plots.plain(m) for m in models])
        left.set_xlabel(plots.plain(f"share of {reference}'s wrong answers repeated exactly"))
        left.set_title("Same wrong answer as R")
        right.barh(ys, np.nan_to_num(kappa), color=colors, height=0.6)
        for y, v in zip(ys, kappa):
            x = float(np.nan_to_num(v))
            right.text(x + (0.03 if x >= 0 else -0.03), y, "n/a (no variation)" if not np.isfinite(v) else f"{v:.2f}",
                       va="center", ha="left" if x >= 0 else "right", fontsize=7.5)
        right.axvline(0.0, color="#55606e", linewidth=0.8)
        right.set_xlim(-1.0, 1.0)
        right.set_xlabel("Cohen's kappa of right/wrong (0 = chance)")
        right.set_title("Error consistency")
    return fig


# ---------------------------------------------------------------------------------------------
# Lineage benchmark
# ---------------------------------------------------------------------------------------------

def benchmark_available(data_dir: str | os.PathLike) -> bool:
    """True when ``data_dir`` is a benchmark split (it holds ``lineage.json``)."""
    return (resolve_path(data_dir) / "lineage.json").is_file()


def embed_benchmark(data_dir: str | os.PathLike, corpora: Sequence[str] | None = None, embedder=None):
    """Embed every response the lineage benchmark will score (models with the roles ``reference``,
    ``distilled`` or ``independent`` in ``lineage.json``) into the on-disk embedding cache, so
    that :func:`forensics.bench.run_lineage_benchmark` afterwards only reads it. Returns one row
    per corpus: prompts, models, responses, and how many texts went through the model now (0
    with a warm cache)."""
    import pandas as pd

    from forensics.corpus import load_benchmark_corpus, load_lineage
    from forensics.signals import Features

    data_dir = resolve_path(data_dir)
    lineage = load_lineage(data_dir)
    names = list(corpora) if corpora else sorted(n for n in lineage if (data_dir / n / "_prompts.jsonl").is_file())
    embedder = embedder if embedder is not None else quiet_embedder()
    rows = []
    for name in names:
        corpus = load_benchmark_corpus(data_dir / name)
        models = sorted(m for m, info in lineage.get(name, {}).items()
                        if m in corpus.responses and info.get("role") in _BENCH_ROLES)
        before = getattr(embedder, "n_encoded", 0)
        Features(corpus, embedder=embedder).precompute(models, sorted(corpus.prompts))
        rows.append({"corpus": name, "prompts": len(corpus.prompts), "models": len(models),
                     "responses": sum(len(corpus.responses[m]) for m in models),
                     "embedded now": getattr(embedder, "n_encoded", 0) - before})
    return pd.DataFrame(rows, columns=["corpus", "prompts", "models", "responses", "embedded now"]).set_index("corpus")


def pair_table(results: Sequence[dict]):
    """Every scored (reference, suspect) pair of :func:`forensics.bench.run_lineage_benchmark`
    results on all prompts, with its kind, combined statistic and verdict, rounded."""
    import pandas as pd

    rows = []
    for res in results:
        for p in res.get("pairs", ()):
            rows.append({"corpus": res["corpus"], "reference": p["reference"], "suspect": p["suspect"],
                         "kind": p["kind"], "t": fmt_num(p.get("statistic"), 1), "p": fmt_p(p.get("p_value")),
                         "verdict": p.get("label")})
    return pd.DataFrame(rows, columns=["corpus", "reference", "suspect", "kind", "t", "p", "verdict"])


def roc_data(results: Sequence[dict], positive_kinds: Sequence[str] = ("positive",)) -> dict:
    """ROC curve of the combined statistic per corpus (``sklearn.metrics.roc_curve``): positives are
    pairs whose kind is in ``positive_kinds`` (("positive", "family") gives the family ROC),
    negatives are the ``negative`` pairs. Corpora without both kinds are left out. Undefined
    statistics rank below every defined one, as in :func:`forensics.bench.auc_score`."""
    from sklearn.metrics import roc_auc_score, roc_curve

    out = {}
    for res in results:
        pairs = [p for p in res.get("pairs", ()) if p["kind"] in positive_kinds or p["kind"] == "negative"]
        y = np.array([p["kind"] in positive_kinds for p in pairs], dtype=int)
        if not pairs or y.sum() == 0 or y.sum() == len(y):
            continue
        s = np.array([p["statistic"] if _finite(p["statistic"]) else np.nan for p in pairs], dtype=float)
        finite = s[np.isfinite(s)]
        floor = (finite.min() - 1.0) if finite.size else 0.0
        s = np.where(np.isfinite(s), s, floor)
        fpr, tpr, thresholds = roc_curve(y, s)
        out[res["corpus"]] = {"fpr": fpr, "tpr": tpr, "thresholds": thresholds, "auc": float(roc_auc_score(y, s)),
                              "n_pos": int(y.sum()), "n_neg": int(len(y) - y.sum()),
                              "positive_kinds": tuple(positive_kinds)}
    return out


def plot_roc(roc: Mapping[str, dict], family: Mapping[str, dict] | None = None) -> Figure:
    """ROC curves from :func:`roc_data` (solid), optionally the family ROC too (dashed)."""
    from forensics import plots

    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(4.8, 4.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="#9aa5b1", linewidth=0.8, linestyle=":")
        palette = [plots.SUSPECT_COLOR, plots.PANEL_COLOR, plots.OK_COLOR, "#7b4ea3"]
        for k, (name, d) in enumerate(sorted(roc.items())):
            color = palette[k % len(palette)]
            ax.plot(d["fpr"], d["tpr"], color=color, linewidth=2.0,
                    label=plots.plain(f"{name}: AUC {d['auc']:.3f} ({d['n_pos']} pos / {d['n_neg']} neg)"))
            if family and name in family:
                f = family[name]
                ax.plot(f["fpr"], f["tpr"], color=color, linewidth=1.2, linestyle="--",
                        label=plots.plain(f"{name}, family: AUC {f['auc']:.3f} ({f['n_pos']} pos)"))
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("false positive rate (independent suspects)")
        ax.set_ylabel("true positive rate (distilled suspects)")
        ax.set_title("Detection ROC of the combined statistic")
        if roc:
            ax.legend(loc="lower right", frameon=False, fontsize=7.5)
    return fig


def sample_efficiency(results: Sequence[dict]):
    """Benchmark figures by number of prompts (mean over seeds): one row per corpus and size,
    with the size as a number ('all' becomes the corpus's prompt count)."""
    import pandas as pd

    rows = []
    for res in results:
        for size, m in res.get("by_prompts", {}).items():
            n = res["n_prompts"] if size == "all" else int(size)
            att = m.get("attribution") or {}
            rows.append({"corpus": res["corpus"], "prompts": n, "size": size, "runs": m.get("n_runs"),
                         "AUC": m.get("auc"), "family AUC": m.get("family_auc"), "TPR": m.get("tpr"),
                         "FPR": m.get("fpr"), "top-1 correct": att.get("correct"), "students": att.get("total")})
    table = pd.DataFrame(rows, columns=["corpus", "prompts", "size", "runs", "AUC", "family AUC", "TPR", "FPR",
                                        "top-1 correct", "students"])
    return table.sort_values(["corpus", "prompts"]).reset_index(drop=True)


def plot_sample_efficiency(table) -> Figure:
    """AUC (solid) and family AUC (dashed) against the number of prompts, per corpus, from
    :func:`sample_efficiency`."""
    from forensics import plots

    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(5.6, 3.8), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        palette = [plots.SUSPECT_COLOR, plots.PANEL_COLOR, plots.OK_COLOR, "#7b4ea3"]
        for k, (name, t) in enumerate(table.groupby("corpus", sort=True)):
            t = t.sort_values("prompts")
            color = palette[k % len(palette)]
            auc = t["AUC"].astype(float)
            if auc.notna().any():
                ax.plot(t["prompts"], auc, marker="o", color=color, label=plots.plain(f"{name}: AUC"))
            fam = t["family AUC"].astype(float)
            if fam.notna().any():
                ax.plot(t["prompts"], fam, marker="s", linestyle="--", color=color,
                        label=plots.plain(f"{name}: family AUC"))
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
