"""Attribution: which of several candidate references, if any, taught the suspect?

Candidates are ranked by closeness with each reference's centrality removed (the suspect's mean
cosine to the candidate minus that of the candidate's panel), so a reference that every model
resembles wins nothing for it. Each candidate is also tested with :func:`forensics.verdict.analyse`;
Holm's step-down procedure over the candidates' p-values controls the family-wise error, and
"none" is the answer when the top candidate is not supported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.stats import holm, jsonable
from forensics.verdict.engine import Verdict, analyse, as_generator
from forensics.verdict.summaries import fmt_num


@dataclass
class CandidateResult:
    """One candidate reference: its combined test, Holm-adjusted p-value and verdict."""

    candidate: str
    closeness_margin: float
    statistic: float
    effect_size: float
    p_value: float
    p_holm: float
    supported: bool
    verdict: Verdict

    def to_dict(self) -> dict:
        return jsonable(
            {
                "candidate": self.candidate,
                "closeness_margin": self.closeness_margin,
                "statistic": self.statistic,
                "effect_size": self.effect_size,
                "p_value": self.p_value,
                "p_holm": self.p_holm,
                "supported": self.supported,
                "label": self.verdict.label,
            }
        )


@dataclass
class Attribution:
    """Candidates ranked by centrality-adjusted closeness; ``best`` is the top candidate if Holm-supported,
    else None ("none": no candidate teacher is supported)."""

    suspect: str
    ranking: list[CandidateResult]
    alpha: float

    @property
    def top(self) -> str | None:
        """Highest-ranked candidate, supported or not."""
        return self.ranking[0].candidate if self.ranking else None

    @property
    def best(self) -> str | None:
        return self.ranking[0].candidate if self.ranking and self.ranking[0].supported else None

    @property
    def supported(self) -> list[str]:
        return [c.candidate for c in self.ranking if c.supported]

    @property
    def answer(self) -> str:
        return self.best if self.best is not None else "none"

    def summary(self) -> str:
        sig3 = partial(fmt_num, digits=3, significant=True)
        lines = [f"teacher of {self.suspect}: {self.answer}"]
        for c in self.ranking:
            lines.append(
                f"  {c.candidate:30s} margin={sig3(c.closeness_margin):>7s}  t={sig3(c.statistic):>7s}  "
                f"p={sig3(c.p_value):>7s}  Holm p={sig3(c.p_holm):>7s}  {'supported' if c.supported else ''}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "suspect": self.suspect,
            "answer": self.answer,
            "top": self.top,
            "alpha": self.alpha,
            "ranking": [c.to_dict() for c in self.ranking],
        }


def attribute(
    corpus: Corpus,
    suspect: str,
    candidates: Sequence[str],
    panel: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    rng: np.random.Generator | int | None = None,
    families: Mapping[str, str] | None = None,
    alpha: float = 0.05,
    signals: Iterable[str] | None = None,
    n_resamples: int = 1999,
    features: Features | None = None,
    include_candidates_in_panel: bool = True,
    panel_groups: Mapping[str, str] | None = None,
) -> Attribution:
    """Which candidate reference, if any, was ``suspect`` distilled from?

    ``panel``: independent control models (a list used for every candidate), or a mapping
    candidate -> its own panel. With a list and ``include_candidates_in_panel``, the other
    candidates join each candidate's panel except those of the same family (``families``:
    candidate -> family label; without it every candidate is its own family), as in the
    benchmark protocol. Candidates are ranked by centrality-adjusted closeness; Holm's step-down
    procedure over the candidates' combined p-values controls the family-wise error, and
    ``best`` is None ("none") when the top candidate is not supported.
    """
    rng = as_generator(rng)
    features = features or Features(corpus)
    families = dict(families or {})
    fam = lambda m: families.get(m, m)  # noqa: E731
    results = []
    for cand in candidates:
        if cand == suspect:
            continue
        if isinstance(panel, Mapping):
            pan = list(panel[cand])
        else:
            pan = [m for m in panel if m not in (suspect, cand)]
            if include_candidates_in_panel:
                pan += [c for c in candidates if c not in (cand, suspect) and fam(c) != fam(cand) and c not in pan]
        groups = dict(panel_groups or {})
        groups.update({c: fam(c) for c in candidates if c in families})
        v = analyse(
            corpus,
            cand,
            suspect,
            pan,
            rng=rng,
            signals=signals,
            alpha=alpha,
            n_resamples=n_resamples,
            features=features,
            panel_groups=groups,
        )
        results.append(v)
    adj = holm([v.p_value for v in results])
    ranked = [
        CandidateResult(
            v.reference,
            v.closeness_margin,
            v.statistic,
            v.effect_size,
            v.p_value,
            float(a),
            bool(np.isfinite(a) and a < alpha),
            v,
        )
        for v, a in zip(results, adj)
    ]
    ranked.sort(key=lambda c: (-(c.closeness_margin if np.isfinite(c.closeness_margin) else -np.inf), c.candidate))
    return Attribution(suspect=suspect, ranking=ranked, alpha=alpha)
