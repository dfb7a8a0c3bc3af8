"""Attribution: which of several candidate references, if any, taught the suspect, in one answer.

Candidates are ranked by the score of their pair verdicts (the suspect's contrast towards each,
against the other vendors' references, in excess of the independent models'). The answer is
hierarchical (docs/methods.md): first the vendor, by one contrast test per vendor with Holm's
correction over the vendors; then, inside a supported vendor, the snapshot, by testing whether the
suspect prefers the top snapshot over the runner-up more than independent models do. It is one of
four things a lawyer can act on: the teacher named, the vendor named with the snapshot uncertain,
inconclusive (the top candidate named, not significant), or no evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from forensics.corpus import Corpus
from forensics.signals import ClosenessStore, signal_names
from forensics.stats import ContrastTest, contrast_test, holm, jsonable
from forensics.verdict.design import Column, Design, contrasts, vendor_of
from forensics.verdict.engine import Verdict, analyse, as_generator
from forensics.verdict.format import fmt_p
from forensics.verdict.settings import AnalysisSettings

NO_EVIDENCE_P = 0.5  # a top vendor whose Holm p reaches this is no closer than a typical independent model


class Answer(StrEnum):
    """The four answers attribution gives, in the words every output uses."""

    TEACHER = "teacher named"
    VENDOR = "vendor named, snapshot uncertain"
    INCONCLUSIVE = "inconclusive"
    NO_EVIDENCE = "no evidence"


@dataclass(frozen=True)
class CandidateResult:
    """One candidate reference: its pair verdict's score, test and label."""

    candidate: str
    family: str
    vendor: str
    score: float
    statistic: float
    effect_size: float
    p_value: float
    verdict: Verdict

    def to_dict(self) -> dict:
        return jsonable(
            {
                "candidate": self.candidate,
                "family": self.family,
                "vendor": self.vendor,
                "score": self.score,
                "statistic": self.statistic,
                "effect_size": self.effect_size,
                "p_value": self.p_value,
                "label": self.verdict.label,
            }
        )


@dataclass(frozen=True)
class VendorTest:
    """Is the suspect closer to this vendor's candidates, against the other vendors', than independents are?"""

    vendor: str
    candidates: tuple[str, ...]
    test: ContrastTest
    p_holm: float

    def to_dict(self) -> dict:
        return jsonable(
            {
                "vendor": self.vendor,
                "candidates": list(self.candidates),
                "p_value": self.test.p_value,
                "p_holm": self.p_holm,
                "effect_size": self.test.effect_size,
                "statistic": self.test.statistic,
                "n_units": self.test.n_units,
            }
        )


@dataclass(frozen=True)
class Attribution:
    """The candidates ranked, the vendor and snapshot tests, and the one answer they give."""

    suspect: str
    ranking: list[CandidateResult]
    vendors: list[VendorTest]
    snapshot: ContrastTest | None
    snapshot_pair: tuple[str, str] | None
    alpha: float
    kind: Answer = Answer.NO_EVIDENCE
    teacher: str | None = None  # the named snapshot (TEACHER only)
    vendor: str | None = None  # the named vendor (TEACHER and VENDOR)
    notes: list[str] = field(default_factory=list)

    @property
    def top(self) -> str | None:
        """Highest-ranked candidate, supported or not."""
        return self.ranking[0].candidate if self.ranking else None

    @property
    def best(self) -> str | None:
        """The named teacher, or None."""
        return self.teacher

    @property
    def answer(self) -> str:
        """The one answer, worded for a lawyer (the same words in every output)."""
        top_vendor = self.vendors[0] if self.vendors else None
        p = fmt_p(top_vendor.p_holm) if top_vendor else "n/a"
        if self.kind is Answer.TEACHER:
            return (
                f"teacher named: {self.teacher} ({self.vendor}), supported at alpha {self.alpha:g} "
                f"(vendor Holm p {p}, snapshot p {fmt_p(self.snapshot.p_value) if self.snapshot else 'n/a'})"
            )
        if self.kind is Answer.VENDOR:
            return (
                f"vendor named: {self.vendor}, snapshot uncertain (closest: {self._top_of(self.vendor)}); "
                f"supported at alpha {self.alpha:g} (vendor Holm p {p})"
            )
        if self.kind is Answer.INCONCLUSIVE:
            return f"inconclusive: top candidate {self.top}, not significant (vendor Holm p {p})"
        return "no evidence" + (f" (top candidate {self.top}, vendor Holm p {p})" if self.top else "")

    def _top_of(self, vendor: str | None) -> str | None:
        return next((c.candidate for c in self.ranking if c.vendor == vendor), None)

    def summary(self) -> str:
        lines = [f"{self.suspect}: {self.answer}"]
        for v in self.vendors:
            lines.append(
                f"  vendor {v.vendor:16s} effect {v.test.effect_size:7.2f}  p {fmt_p(v.test.p_value):>7s}  "
                f"Holm p {fmt_p(v.p_holm):>7s}"
            )
        for c in self.ranking:
            lines.append(f"  {c.candidate:30s} score {c.score:7.3f}  p {fmt_p(c.p_value):>7s}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "suspect": self.suspect,
                "answer": self.answer,
                "kind": self.kind,
                "teacher": self.teacher,
                "vendor": self.vendor,
                "top": self.top,
                "alpha": self.alpha,
                "vendors": [v.to_dict() for v in self.vendors],
                "snapshot": None
                if self.snapshot is None
                else {"pair": list(self.snapshot_pair or ()), **self.snapshot.to_dict()},
                "ranking": [c.to_dict() for c in self.ranking],
                "notes": self.notes,
            }
        )


def rank_candidates(results: Iterable[CandidateResult]) -> list[CandidateResult]:
    """Candidates by score, highest first (undefined scores last, then by name): the one ranking
    attribution, the report and the benchmark share."""
    return sorted(results, key=lambda c: (-(c.score if np.isfinite(c.score) else -np.inf), c.candidate))


def _vendor_tests(store, suspect, units, by_vendor, names, pids, settings, rng) -> list[VendorTest]:
    """One contrast test per vendor (its candidates against the others'), Holm over the vendors."""
    vendors = sorted(by_vendor)
    if len(vendors) < 2:
        return []
    params = settings.engine
    weights = {g: float(params.weights.get(g, 0.0)) for g in names}
    tests = []
    for v in vendors:
        order = [v, *[w for w in vendors if w != v]]
        columns = tuple(
            Column(w, tuple(by_vendor[w]), tuple(c for x in vendors if x != w for c in by_vendor[x])) for w in order
        )
        D = contrasts(store, Design(suspect, tuple(units), columns), names, pids)
        tests.append(
            contrast_test(D, suspect, units, rng, weights=weights, kappa=params.kappa, n_resamples=settings.n_resamples)
        )
    adjusted = holm([t.p_value for t in tests])
    out = [VendorTest(v, tuple(by_vendor[v]), t, float(a)) for v, t, a in zip(vendors, tests, adjusted)]
    return sorted(out, key=lambda x: (np.nan_to_num(x.p_holm, nan=2.0), -np.nan_to_num(x.test.excess), x.vendor))


def attribute(
    corpus: Corpus,
    suspect: str,
    candidates: Sequence[str],
    panel: Sequence[str],
    *,
    rng: np.random.Generator | int | None = None,
    families: Mapping[str, str] | None = None,
    settings: AnalysisSettings | None = None,
    prompt_ids: Sequence[str] | None = None,
    store: ClosenessStore | None = None,
    verdicts: Mapping[str, Verdict] | None = None,
) -> Attribution:
    """Which candidate reference, if any, was ``suspect`` distilled from? One answer (docs/methods.md).

    ``panel``: the independent control models. ``families``: candidate -> vendor-line family
    ("openai-gpt4"); its first word is the vendor (without it every candidate is its own vendor).
    Each candidate's pair verdict contrasts it with the candidates of other vendors and is
    calibrated on the independent models; the vendor and snapshot tests give the answer.
    ``verdicts``: pair verdicts already computed with these settings (candidate -> verdict), reused.
    """
    rng = as_generator(rng)
    settings = settings or AnalysisSettings()
    store = store or ClosenessStore(corpus)
    families = {c: (families or {}).get(c, c) for c in candidates}
    candidates = [c for c in dict.fromkeys(candidates) if c != suspect]
    units = [m for m in dict.fromkeys(panel) if m not in (suspect, *candidates)]
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.common_prompts([suspect]))
    results = []
    for cand in candidates:
        pan = units + [c for c in candidates if c != cand and families[c] != families[cand]]
        v = (verdicts or {}).get(cand) or analyse(
            corpus, cand, suspect, pan, rng=rng, settings=settings, families=families, prompt_ids=pids, store=store
        )
        results.append(
            CandidateResult(
                cand, families[cand], vendor_of(families[cand]), v.score, v.statistic, v.effect_size, v.p_value, v
            )
        )
    ranking = rank_candidates(results)
    names = list(settings.signals) if settings.signals is not None else signal_names(default_only=True)
    by_vendor: dict[str, list[str]] = {}
    for c in candidates:
        by_vendor.setdefault(vendor_of(families[c]), []).append(c)
    vendors = _vendor_tests(store, suspect, units, by_vendor, names, pids, settings, rng)
    notes = []
    alpha = settings.alpha
    supported = [v for v in vendors if np.isfinite(v.p_holm) and v.p_holm < alpha]
    if len(by_vendor) < 2:
        notes.append("every candidate is of one vendor: the vendor cannot be tested against another")
    if not supported:
        top_p = vendors[0].p_holm if vendors else float("nan")
        kind = Answer.INCONCLUSIVE if np.isfinite(top_p) and top_p < NO_EVIDENCE_P else Answer.NO_EVIDENCE
        return Attribution(suspect, ranking, vendors, None, None, alpha, kind, notes=notes)
    vendor = supported[0].vendor
    inside = [c for c in ranking if c.vendor == vendor]
    if len(inside) == 1:
        return Attribution(
            suspect, ranking, vendors, None, None, alpha, Answer.TEACHER, inside[0].candidate, vendor, notes
        )
    first, second = inside[0].candidate, inside[1].candidate
    weights = {g: float(settings.engine.weights.get(g, 0.0)) for g in names}
    D = contrasts(store, Design(suspect, tuple(units), (Column(first, (first,), (second,)),)), names, pids)
    snap = contrast_test(
        D, suspect, units, rng, weights=weights, kappa=settings.engine.kappa, n_resamples=settings.n_resamples
    )
    named = bool(snap.defined and snap.p_value < alpha)
    return Attribution(
        suspect,
        ranking,
        vendors,
        snap,
        (first, second),
        alpha,
        Answer.TEACHER if named else Answer.VENDOR,
        first if named else None,
        vendor,
        notes,
    )


__all__ = ["Answer", "Attribution", "CandidateResult", "VendorTest", "attribute", "rank_candidates"]
