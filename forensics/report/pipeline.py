"""The one investigation pipeline: verify once, load, analyse, attribute, measure sample efficiency, digest.

The CLI (``forensics report``), ``forensics demo`` and the quickstart notebook all call
:func:`investigate`; only what they do with the result (print, render, show) differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from forensics.corpus import Corpus, load_evidence
from forensics.evidence import VerifiedLog
from forensics.report.build import (
    _case_meta,
    case_folder,
    check_labels,
    default_panel,
    rebuild_command,
    verify_evidence,
)
from forensics.report.digest import ReportError, build_digest, check_report_targets, render_digest, write_digest
from forensics.signals import ClosenessStore
from forensics.verdict import AnalysisSettings, Attribution, Verdict, analyse, attribute

EFFICIENCY_SIZES = (25, 50, 100)  # plus "all": how many prompts the verdict needs


@dataclass
class InvestigationResult:
    """What one run of the pipeline computed, and the digest the report is rendered from."""

    verified: list[VerifiedLog]
    corpus: Corpus
    store: ClosenessStore
    verdicts: list[Verdict]
    attributions: list[Attribution]
    efficiency: list[dict]
    digest: dict = field(default_factory=dict)

    def attribution(self, suspect: str) -> Attribution | None:
        return next((a for a in self.attributions if a.suspect == suspect), None)


def efficiency_rows(
    corpus: Corpus,
    verdict: Verdict,
    sizes: Sequence[int],
    store: ClosenessStore,
    *,
    rng: np.random.Generator | None = None,
    seed: int = 0,
    families: Mapping[str, str] | None = None,
    settings: AnalysisSettings | None = None,
) -> list[dict]:
    """The verdict again on random subsets of ``sizes`` prompts (drawn with ``rng``), then on all."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    pids = sorted(corpus.common_prompts([verdict.reference]))
    rows = []
    for n in sorted(sizes):
        if n >= verdict.n_prompts:
            continue
        subset = sorted(rng.choice(pids, size=n, replace=False).tolist())
        v = analyse(
            corpus,
            verdict.reference,
            verdict.suspect,
            verdict.panel,
            rng=np.random.default_rng(seed),
            settings=settings,
            families=families,
            prompt_ids=subset,
            store=store,
        )
        rows.append(_row(v, n))
    rows.append(_row(verdict, "all"))
    return rows


def _row(v: Verdict, size: int | str) -> dict:
    return {
        "suspect": v.suspect,
        "reference": v.reference,
        "size": size,
        "prompts": v.n_prompts,
        "label": str(v.label),
        "p_value": v.p_value if np.isfinite(v.p_value) else None,
        "effect_size": v.effect_size if np.isfinite(v.effect_size) else None,
    }


def investigate(
    evidence: Sequence[Path | str],
    *,
    suspects: Sequence[str],
    reference: str | None = None,
    candidates: Sequence[str] | None = None,
    panel: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
    families: Mapping[str, str] | None = None,
    efficiency_sizes: Sequence[int] = (),
    seed: int = 0,
    out: Path | str = "report.html",
    meta: Mapping | None = None,
    settings: AnalysisSettings | None = None,
    store: ClosenessStore | None = None,
    allow_mixed: bool = False,
    trust: Sequence[str] | None = None,
) -> InvestigationResult:
    """Verify ``evidence`` once, then for each suspect: the verdict against ``reference`` (the
    attribution's own test of it when it is also a candidate and no replicate is given; with no
    reference, against the top-ranked of ``candidates``), the attribution among ``candidates``
    ("none" allowed), and the verdict on ``efficiency_sizes`` prompts. Every suspect gets its own
    ``numpy.random.default_rng(seed)``, so its numbers do not depend on the other suspects.

    ``panel`` defaults, per suspect, to every other label in the evidence (not R, its
    ``replicates`` or candidates); ``families``: label -> vendor-line family ("openai-gpt4") of
    every reference: labelled panel members anchor the contrast, the others calibrate it
    (docs/methods.md). ``settings``: the engine's settings; ``store``: a closeness store of the
    same evidence to reuse. ``allow_mixed`` lets one label cover several subjects (model id,
    endpoint, decoding, system prompt); the report then says which labels mix. With ``trust`` (key
    fingerprints) every log must be sealed by a trusted key. Each log is read once.
    """
    suspects = list(suspects)
    verified = verify_evidence(evidence, trust)
    corpus = load_evidence(verified, check=False, allow_mixed=allow_mixed)  # the records verified just above
    replicates = list(replicates or ())
    candidates = list(candidates or ())
    statements = []
    if reference and reference in replicates:
        replicates = [r for r in replicates if r != reference]
        statements.append(
            f"--replicate {reference} is the reference itself and was ignored: a replicate is R sampled again, "
            "recorded under a label of its own."
        )
    check_labels(corpus.models, reference, suspects, panel, candidates, replicates)
    settings = settings or AnalysisSettings()
    store = store if store is not None and store.corpus is corpus else ClosenessStore(corpus)
    groups = {m: f for m, f in (families or {}).items() if m in corpus.models}
    verdicts, attributions, efficiency = [], [], []
    for suspect in suspects:
        members = (
            [m for m in panel if m != suspect]
            if panel
            else default_panel(corpus.models, reference, suspect, replicates)
        )
        if panel and suspect in panel:
            statements.append(f"Panel member {suspect} is the suspect itself, so it was left out of its own panel.")
        if not members and not panel:
            raise ReportError(
                f"no panel for '{suspect}': the evidence holds no model other than the reference "
                "(and its replicates) and the suspect, so nothing calibrates the test"
            )
        attribution = None
        if candidates:
            attribution = attribute(
                corpus,
                suspect,
                candidates,
                [m for m in members if m not in candidates],
                rng=np.random.default_rng(seed),
                families=groups or None,
                settings=settings,
                store=store,
            )
            attributions.append(attribution)
        # against a reference that is also a candidate, the verdict is the attribution's own pair test of
        # it (the other vendors' candidates anchor it), so the report shows one test of that pair, not two
        reused = (
            next((c.verdict for c in attribution.ranking if c.candidate == reference), None) if attribution else None
        )
        if reused is not None and not replicates:
            verdict = reused
        elif reference:
            verdict = analyse(
                corpus,
                reference,
                suspect,
                members,
                rng=np.random.default_rng(seed),
                settings=settings,
                families=groups,
                replicates=replicates,
                store=store,
            )
        else:
            verdict = attribution.ranking[0].verdict
        verdicts.append(verdict)
        if not corpus.common_prompts([verdict.reference, suspect]):
            statements.append(
                f"No prompt was answered by both {verdict.reference} and {suspect}: nothing was analysed for "
                f"{suspect}, so its label only means that nothing could be compared."
            )
        if efficiency_sizes:
            efficiency += efficiency_rows(
                corpus, verdict, efficiency_sizes, store, seed=seed, families=groups, settings=settings
            )
    command = rebuild_command(
        evidence,
        reference,
        suspects,
        panel,
        seed,
        out,
        candidates=candidates,
        replicates=replicates,
        case_dir=case_folder(evidence),
        allow_mixed=allow_mixed,
        trust=trust,
    )
    digest = build_digest(
        verdicts,
        verified,
        corpus,
        attributions=attributions,
        efficiency=efficiency,
        meta={**_case_meta(evidence, verified), **(meta or {})},
        command=command,
        command_exact=not efficiency_sizes and not families,
        rng_seed=seed,
        statements=statements,
        engine=settings.engine.to_dict(),
    )
    digest["statements"] = statements
    return InvestigationResult(verified, corpus, store, verdicts, attributions, efficiency, digest)


def build_report(
    evidence_paths: Sequence[Path | str],
    reference: str | None,
    suspects: Sequence[str] | str,
    panel: Sequence[str] | None = None,
    out: Path | str = "report.html",
    rng_seed: int = 0,
    *,
    candidates: Sequence[str] | None = None,
    replicates: Sequence[str] | None = None,
    title: str | None = None,
    meta: Mapping | None = None,
    build_time: datetime | None = None,
    settings: AnalysisSettings | None = None,
    digest_out: Path | str | None = None,
    allow_mixed: bool = False,
    trust: Sequence[str] | None = None,
) -> Path:
    """Verify, analyse each suspect (:func:`investigate`) and write the report ``out``; with
    ``digest_out``, also the digest it was rendered from, signed (``--from-digest`` re-renders it).
    Both outputs are checked before any analysis starts."""
    suspects = [suspects] if isinstance(suspects, str) else list(suspects)
    check_report_targets(out, digest_out)
    result = investigate(
        evidence_paths,
        reference=reference,
        suspects=suspects,
        panel=panel,
        candidates=candidates,
        replicates=replicates,
        seed=rng_seed,
        out=out,
        meta={**(meta or {}), **({"title": title} if title else {})},
        settings=settings,
        allow_mixed=allow_mixed,
        trust=trust,
    )
    if digest_out is not None:
        write_digest(result.digest, digest_out)
    return render_digest(result.digest, out, build_time=build_time)
