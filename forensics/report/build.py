"""``forensics report``: one self-contained HTML evidence report, rebuilt from evidence alone.

The report is built in three steps that never mix: every evidence log is verified (a failing
log is refused, by name); the analysis engine computes one verdict per suspect with a fixed seed;
the verdicts, the evidence's provenance and the cited responses are rendered with Jinja2
(autoescaping on, no script, a Content-Security-Policy that forbids every load except inline
``data:`` images) into one file that opens offline. Building twice from the same evidence gives
the same bytes apart from the one line that carries the build time (``data-build-timestamp``).
"""

from __future__ import annotations

import inspect
import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from forensics.corpus import load_evidence
from forensics.evidence import EvidenceError, VerifyResult, collect_provenance, iter_logs, verify
from forensics.features import Features
from forensics.report import plots
from forensics.report.views import (
    FILTERS,
    MAX_SHOWN_CHARS,
    add_figures,
    attribution_view,
    pick_examples,
    signals_described,
    slugify,
    verdict_view,
)
from forensics.verdict import analyse, attribute

TEMPLATE = "report.html.j2"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
TIMESTAMP_ATTR = "data-build-timestamp"
SMALL_PANEL = 3  # fewer panel members than this and the report warns that the calibration is thin


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown label, failing evidence); one line for the user."""


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


def rebuild_command(
    evidence_paths: Sequence[Path | str],
    reference: str,
    suspects: Sequence[str],
    panel: Sequence[str] | None,
    seed: int,
    out: Path | str,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
) -> str:
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


def _environment():
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _build_time(build_time: datetime | None) -> str:
    if build_time is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        build_time = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    return build_time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_report(
    verdicts: Sequence[Any],
    evidence_paths: Sequence[Path | str],
    out: Path | str = "report.html",
    *,
    corpus=None,
    attributions: Sequence[Any] | None = None,
    rng_seed: int | None = None,
    command: str | None = None,
    title: str | None = None,
    build_time: datetime | None = None,
    verified: Sequence[VerifyResult] | None = None,
) -> Path:
    """Render already computed verdicts (one per suspect) into a self-contained ``out`` HTML file.

    ``evidence_paths`` are the logs the verdicts were computed from: they are verified again
    and described in the provenance section, and the cited responses are read from them.
    """
    results = list(verified) if verified is not None else verify_evidence(evidence_paths)
    if corpus is None:
        corpus = load_evidence([r.path for r in results])
    views = [verdict_view(v) for v in verdicts]
    if not views:
        raise ReportError("no verdicts to report")
    references = sorted({v["reference"] for v in views})
    if rng_seed is None and len({repr(v["seed"]) for v in views}) == 1:
        rng_seed = views[0]["seed"]
    slugs: set[str] = set()
    for view in views:
        slug = base = slugify(view["suspect"])
        while slug in slugs:
            slug = f"{base}-{len(slugs) + 1}"
        slugs.add(slug)
        view["slug"] = slug
        view["panel_small"] = len(view["panel"]) < SMALL_PANEL
        view["examples"] = pick_examples(corpus, view)
        add_figures(view)
    attribution_views = []
    for attribution in attributions or ():
        a = attribution_view(attribution)
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
        "corpus": {"models": corpus.models, "n_prompts": len(corpus.prompts), "prompts_analysed": prompts_analysed},
        "provenance": provenance,
        "command": command,
        "command_exact": command_exact,
        "relative_paths": any(not Path(p).is_absolute() for p in evidence_paths),
        "verify_command": " ".join(
            shlex.quote(x) for x in ["forensics", "verify", *(log["path"] for log in provenance["logs"])]
        ),
        "rng_seed": rng_seed,
        "small_panel": SMALL_PANEL,
        "max_shown": MAX_SHOWN_CHARS,
        "tool_version": _tool_version(),
        "signals": signals_described(views),
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
    exact = (
        len({v["reference"] for v in views}) == 1
        and rng_seed is not None
        and all(sorted(v["panel"]) == [m for m in union if m != v["suspect"]] for v in views)
    )
    replicates = sorted({m for v in views if v["replicate"] for m in v["replicate"]["replicates"]})
    exact = exact and all(sorted(v["replicate"]["replicates"] if v["replicate"] else []) == replicates for v in views)
    defaults = all(sorted(v["panel"]) == default_panel(models, reference, v["suspect"], replicates) for v in views)
    command = rebuild_command(
        [str(p) for p in evidence_paths],
        reference,
        suspects,
        None if defaults else union,
        rng_seed if rng_seed is not None else 0,
        out,
        replicates=replicates,
    )
    return command, exact


def _versions_table(provenance: dict) -> list[tuple[str, tuple[list[str], str | None]]]:
    recorded = {row["package"]: row["values"] for row in provenance["recorded_versions"]}
    current = dict(provenance["current_versions"])
    return [(name, (recorded.get(name, []), current.get(name))) for name in sorted(set(recorded) | set(current))]


def _tool_version() -> str:
    try:
        return metadata.version("distillation-forensics")
    except metadata.PackageNotFoundError:  # a source tree on sys.path without `pip install -e .`
        return "unknown (not installed)"


def check_labels(
    models: Sequence[str],
    reference: str,
    suspects: Sequence[str],
    panel: Sequence[str] | None,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
) -> None:
    """Every label named must be in the evidence; one line naming the bad label and the known ones."""
    known = set(models)
    listed = ", ".join(sorted(known)) or "(none)"
    for role, names in (
        ("reference", [reference]),
        ("suspect", suspects),
        ("panel", panel or ()),
        ("candidate", candidates or ()),
        ("replicate", replicates or ()),
    ):
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


def default_panel(
    models: Sequence[str], reference: str, suspect: str, replicates: Sequence[str] | None = None
) -> list[str]:
    """Every other label in the evidence: not the reference, its replicates, or the suspect being analysed."""
    return sorted(m for m in models if m not in (reference, suspect, *(replicates or ())))


def build_report(
    evidence_paths: Sequence[Path | str],
    reference: str,
    suspects: Sequence[str] | str,
    panel: Sequence[str] | None = None,
    out: Path | str = "report.html",
    rng_seed: int = 0,
    *,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
    title: str | None = None,
    build_time: datetime | None = None,
    analyse_options: Mapping | None = None,
) -> Path:
    """Verify the evidence, analyse each suspect against ``reference``, and write ``out``.

    Each suspect is analysed with its own ``numpy.random.default_rng(rng_seed)``, so a suspect's
    numbers do not depend on which other suspects share the report and can be reproduced alone
    with ``verdict.analyse(corpus, reference, suspect, panel, rng=default_rng(rng_seed))``.
    ``panel`` defaults, per suspect, to every other label in the evidence (an explicit panel that
    holds only the suspect leaves it none, and its verdict says nothing could be tested). ``replicates``: labels
    of the reference sampled again, for the replicate test (never panel members). With
    ``candidates`` the suspect is also attributed among those candidate references.
    """
    suspects = [suspects] if isinstance(suspects, str) else list(suspects)
    evidence_paths = [str(p) for p in evidence_paths]
    results = verify_evidence(evidence_paths)
    corpus = load_evidence([r.path for r in results])
    replicates = list(replicates or ())
    check_labels(corpus.models, reference, suspects, panel, candidates, replicates)
    options = dict(analyse_options or {})
    if "features" not in options:
        options["features"] = Features(corpus)  # per-response features computed once for every suspect
    verdicts, attributions = [], []
    for suspect in suspects:
        # A suspect never calibrates its own test: it leaves the panel while it is analysed.
        members = (
            [m for m in panel if m != suspect]
            if panel
            else default_panel(corpus.models, reference, suspect, replicates)
        )
        if not members and not panel:
            raise ReportError(
                f"no panel for '{suspect}': the evidence holds no model other than the reference "
                "(and its replicates) and the suspect, so nothing calibrates the test"
            )
        verdicts.append(
            analyse(
                corpus,
                reference,
                suspect,
                members,
                rng=np.random.default_rng(rng_seed),
                replicates=replicates,
                **options,
            )
        )
        if candidates:
            others = [
                m
                for m in (panel or default_panel(corpus.models, reference, suspect, replicates))
                if m not in candidates
            ]
            accepted = inspect.signature(attribute).parameters
            attributions.append(
                attribute(
                    corpus,
                    suspect,
                    list(candidates),
                    others,
                    rng=np.random.default_rng(rng_seed),
                    **{k: v for k, v in options.items() if k in accepted},
                )
            )
    command = rebuild_command(evidence_paths, reference, suspects, panel, rng_seed, out, candidates, replicates)
    return render_report(
        verdicts,
        evidence_paths,
        out,
        corpus=corpus,
        attributions=attributions or None,
        rng_seed=rng_seed,
        command=command,
        title=title,
        build_time=build_time,
        verified=results,
    )
