"""Attribution: which of several candidate references, if any, taught the suspect, in one answer.

Candidates are ranked by the score of their pair verdicts (the suspect's lean towards each,
against the other vendors' references); a candidate every model leans towards is part of the null
that the selection test simulates. The answer is hierarchical (docs/methods.md): first the top
candidate's vendor, by the top candidate's test corrected for having been selected among all the
candidates (:func:`forensics.stats.selection_test`, which uses the candidates' correlation instead
of Holm over every snapshot); then, inside that vendor, the snapshot, by testing whether the suspect
prefers the top snapshot over the vendor's runner-up more than independent models do. It is one of
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
from forensics.stats import ContrastTest, SelectionTest, contrast_test, jsonable, selection_test
from forensics.verdict.design import Column, Design, contrasts, vendor_of
from forensics.verdict.engine import Verdict, analyse, as_generator
from forensics.verdict.format import fmt_p
from forensics.verdict.settings import AnalysisSettings

NO_EVIDENCE_P = 0.5  # a top candidate whose selection-corrected p reaches this is unremarkable


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
    verdict: Verdict | None

    @property
    def excess(self) -> float:
        """The suspect's contrast beyond the independent models' mean (NaN without any)."""
        return self.verdict.test.excess if self.verdict is not None else float("nan")

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
                "excess": self.excess,
                "label": self.verdict.label if self.verdict is not None else None,
            }
        )


@dataclass(frozen=True)
class Attribution:
    """The candidates ranked, the vendor and snapshot tests, and the one answer they give."""

    suspect: str
    ranking: list[CandidateResult]
    selection: SelectionTest | None
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
    def p_value(self) -> float:
        """The top candidate's p-value, corrected for its selection among the candidates."""
        return self.selection.p_value if self.selection is not None else float("nan")

    @property
    def answer(self) -> str:
        """The one answer, worded for a lawyer (the same words in every output)."""
        p = f"p {_fmt_answer_p(self.p_value)} for the top of {self.selection.n_candidates}" if self.selection else ""
        if self.kind is Answer.TEACHER:
            snap = f", snapshot p {_fmt_answer_p(self.snapshot.p_value)}" if self.snapshot is not None else ""
            return f"teacher named: {self.teacher} ({self.vendor}), supported at alpha {self.alpha:g} ({p}{snap})"
        if self.kind is Answer.VENDOR:
            return (
                f"vendor named: {self.vendor}, snapshot uncertain (closest: {self.top}); "
                f"supported at alpha {self.alpha:g} ({p})"
            )
        if self.kind is Answer.INCONCLUSIVE:
            return f"inconclusive: top candidate {self.top}, not significant ({p})"
        if self.selection is not None and not self.selection.defined:
            return f"no evidence: not testable ({self.selection.note}); top candidate {self.top}"
        return "no evidence" + (f" (top candidate {self.top}, {p})" if self.top else "")

    def summary(self) -> str:
        lines = [f"{self.suspect}: {self.answer}"]
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
                "p_value": self.p_value,
                "selection": self.selection.to_dict() if self.selection is not None else None,
                "snapshot": None
                if self.snapshot is None
                else {"pair": list(self.snapshot_pair or ()), **self.snapshot.to_dict()},
                "ranking": [c.to_dict() for c in self.ranking],
                "notes": self.notes,
            }
        )


def _fmt_answer_p(p: float) -> str:
    """A p-value in an answer: three decimals near alpha, so "0.049" never reads as "0.05"."""
    return f"{p:.3f}" if np.isfinite(p) and 0.01 <= p < 0.1 else fmt_p(p)


def rank_candidates(results: Iterable[CandidateResult]) -> list[CandidateResult]:
    """Candidates by score, highest first, undefined last, then by name: the one ranking
    attribution, the report and the benchmark share (docs/methods.md says why not by excess)."""
    return sorted(results, key=lambda c: (-_finite(c.score), c.candidate))


def _finite(x: float) -> float:
    return x if np.isfinite(x) else -np.inf


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
    ("openai-gpt4"); its first word is the vendor (a candidate without a family is its own vendor).
    Each candidate's pair verdict contrasts it with the candidates of other vendors and is
    calibrated on the independent models; the vendor and snapshot tests give the answer.
    ``verdicts``: pair verdicts already computed with these settings (candidate -> verdict), reused.
    """
    rng = as_generator(rng)
    settings = settings or AnalysisSettings()
    store = store or ClosenessStore(corpus)
    given = dict(families or {})
    families = {c: given.get(c, c) for c in candidates}
    vendors = {c: vendor_of(given[c]) if c in given else c for c in candidates}  # unlabelled: its own vendor
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
            CandidateResult(cand, families[cand], vendors[cand], v.score, v.statistic, v.effect_size, v.p_value, v)
        )
    ranking = rank_candidates(results)
    alpha = settings.alpha
    notes = []
    if not ranking:
        return Attribution(suspect, ranking, None, None, None, alpha, Answer.NO_EVIDENCE, notes=["no candidate"])
    top = ranking[0]
    selection = selection_test({c.candidate: c.verdict.test for c in ranking}, top.candidate, rng)
    p = selection.p_value
    if not (np.isfinite(p) and p < alpha):
        kind = Answer.INCONCLUSIVE if np.isfinite(p) and p < NO_EVIDENCE_P else Answer.NO_EVIDENCE
        return Attribution(suspect, ranking, selection, None, None, alpha, kind, notes=notes)
    vendor = top.vendor
    siblings = [c for c in ranking[1:] if c.vendor == vendor]
    if not siblings:
        return Attribution(suspect, ranking, selection, None, None, alpha, Answer.TEACHER, top.candidate, vendor, notes)
    second = siblings[0].candidate
    names = list(settings.signals) if settings.signals is not None else signal_names(default_only=True)
    weights = {g: float(settings.engine.weights.get(g, 0.0)) for g in names}
    D = contrasts(
        store, Design(suspect, tuple(units), (Column(top.candidate, (top.candidate,), (second,)),)), names, pids
    )
    snap = contrast_test(
        D, suspect, units, rng, weights=weights, kappa=settings.engine.kappa, n_resamples=settings.n_resamples
    )
    named = bool(snap.defined and snap.p_value < alpha)
    return Attribution(
        suspect,
        ranking,
        selection,
        snap,
        (top.candidate, second),
        alpha,
        Answer.TEACHER if named else Answer.VENDOR,
        top.candidate if named else None,
        vendor,
        notes,
    )


__all__ = ["Answer", "Attribution", "CandidateResult", "attribute", "rank_candidates"]
