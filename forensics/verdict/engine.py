"""Verdicts: was the suspect distilled from the reference, is it the same model, or neither?

``analyse(corpus, reference, suspect, panel, rng=...)`` measures every signal once (through a
:class:`forensics.signals.ClosenessStore`), runs the contrast test of each and of their learned
combination against the panel's independent models, and the same-model check, and returns a
:class:`Verdict`. The labels, the tests and the strength words are explained in ``docs/methods.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals import SIGNALS, ClosenessStore, signal_names
from forensics.signals.scores import check_models, prompts_for
from forensics.signals.store import covering_store
from forensics.stats import (
    ContrastTest,
    PanelPower,
    ReplicateTest,
    contrast_test,
    jsonable,
    panel_power,
    replicate_test,
)
from forensics.verdict.design import contrasts, pair_design
from forensics.verdict.format import fmt_num
from forensics.verdict.settings import AnalysisSettings
from forensics.verdict.types import ConfidenceInterval, Label, SameModelCheck

__all__ = [
    "Verdict",
    "Finding",
    "analyse",
    "SAME_MODEL",
    "DISTILLED",
    "NO_EVIDENCE",
    "same_model_check",
    "replicate_check",
    "strength_words",
    "as_generator",
]

SAME_MODEL = Label.SAME_MODEL
DISTILLED = Label.DISTILLED
NO_EVIDENCE = Label.NO_EVIDENCE
SAME_MODEL_SHARE = 0.5  # "on most prompts": a majority


def strength_words(p_value: float, alpha: float = 0.05) -> str:
    """Plain-words strength of evidence for a (combined) p-value."""
    if p_value is None or not np.isfinite(p_value) or p_value >= alpha:
        return "none"
    if p_value < 0.001:
        return "strong"
    if p_value < 0.01:
        return "moderate"
    return "weak"


@dataclass
class Finding:
    """One signal's result, in the verdict's words, with the evidence behind it."""

    signal: str
    description: str
    statistic: float
    effect_size: float
    ci: ConfidenceInterval
    p_value: float
    supports: bool
    prompt_ids: list[str]
    records: list[tuple[str | None, str | None]]
    defined: bool = True
    note: str = ""

    @classmethod
    def from_test(cls, test: ContrastTest, alpha: float, prompts: list[str], records: list) -> Finding:
        supports = bool(test.defined and np.isfinite(test.p_value) and test.p_value < alpha)
        spec = SIGNALS.get(test.name)
        return cls(
            test.name,
            spec.description if spec else test.name,
            test.statistic,
            test.effect_size,
            ConfidenceInterval.of(test.ci),
            test.p_value,
            supports,
            prompts,
            records,
            test.defined,
            test.note,
        )

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["ci"] = list(self.ci)
        d["records"] = [list(r) for r in self.records]
        return jsonable(d)


@dataclass
class Verdict:
    """The answer for one (reference, suspect) pair.

    ``p_value``, ``statistic``, ``effect_size`` and ``ci`` are those of the test the label rests
    on (``basis``): the combined contrast test (effect in panel SDs), or the replicate test (effect =
    relative closeness, 0 = the controls, 1 = R's own resample). Both tests stay available as
    ``test`` and ``replicate``. ``score``: the suspect's own combined contrast towards R (its lean
    towards R against the other vendors' references), which needs no panel spread, ranks candidate
    teachers and is what a benchmark's AUC reads.
    """

    label: Label
    reference: str
    suspect: str
    panel: list[str]
    strength: str
    p_value: float
    statistic: float
    effect_size: float
    ci: ConfidenceInterval
    alpha: float
    findings: list[Finding]
    same_model: SameModelCheck
    test: ContrastTest
    n_prompts: int
    notes: list[str] = field(default_factory=list)
    replicate: ReplicateTest | None = None
    basis: str = "panel"  # which test the label and its strength rest on: "panel" or "replicate"
    score: float = float("nan")
    units: list[str] = field(default_factory=list)  # the independent models the test is calibrated on
    anchors: list[str] = field(default_factory=list)  # the other vendors' references R is contrasted with
    power: PanelPower | None = None  # what this panel can detect

    @property
    def distilled(self) -> bool:
        """True for "distilled from R" and for "same model or direct derivative"."""
        return self.label.derived

    @property
    def records(self) -> list[str]:
        """Every record hash cited by a supporting finding (suspect's and reference's)."""
        out: list[str] = []
        for f in self.findings:
            if f.supports:
                for pair in f.records:
                    out.extend(h for h in pair if h and h not in out)
        return out

    def summary(self) -> str:
        sig3 = partial(fmt_num, digits=3, significant=True)
        t = self.test
        lines = [
            f"{self.suspect} vs {self.reference}: {self.label}"
            + (f" ({self.strength} evidence)" if self.strength != "none" else "")
            + (" [on the replicate test]" if self.basis == "replicate" else ""),
            f"  combined p = {sig3(t.p_value)}, effect = {sig3(t.effect_size)} panel SD "
            f"[{sig3(t.ci[0])}, {sig3(t.ci[1])}], {self.n_prompts} prompts, "
            f"{len(self.units)} independent model{'s' if len(self.units) != 1 else ''}, "
            f"contrasted with {', '.join(self.anchors) or 'no other vendor'}",
        ]
        for f in self.findings:
            if not f.defined:
                lines.append(f"  - {f.signal}: undefined ({f.note})")
                continue
            lines.append(
                f"  - {f.signal}: effect {sig3(f.effect_size)} [{sig3(f.ci[0])}, {sig3(f.ci[1])}], "
                f"p = {sig3(f.p_value)}{' *' if f.supports else ''}"
            )
        sm = self.same_model
        if sm.ran:
            lines.append(
                f"  same-model check: beats the panel ceiling on {sm.share:.0%} of prompts "
                f"(copy if > {sm.threshold:.0%}; panel max {sig3(sm.panel_max)})"
            )
        rep = self.replicate
        if rep is not None:
            lines.append(
                f"  replicate test: relative closeness {sig3(rep.relative_closeness)} "
                f"[{sig3(rep.ci[0])}, {sig3(rep.ci[1])}] (0 = controls, 1 = R's resample), "
                f"p = {sig3(rep.p_value)}; S at least as close as R's resample on {rep.self_share:.0%} "
                f"of prompts" + (f" ({rep.note})" if rep.note else "")
            )
        if self.power is not None:
            lines.append(f"  power: {self.power.sentence()}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self, include_null: bool = False) -> dict:
        return jsonable(
            {
                "label": self.label,
                "reference": self.reference,
                "suspect": self.suspect,
                "panel": self.panel,
                "units": self.units,
                "anchors": self.anchors,
                "strength": self.strength,
                "p_value": self.p_value,
                "statistic": self.statistic,
                "effect_size": self.effect_size,
                "ci": list(self.ci),
                "alpha": self.alpha,
                "n_prompts": self.n_prompts,
                "findings": [f.to_dict() for f in self.findings],
                "same_model": self.same_model.to_dict(),
                "notes": self.notes,
                "records": self.records,
                "basis": self.basis,
                "score": self.score,
                "power": {**self.power.to_dict(), "sentence": self.power.sentence()}
                if self.power is not None
                else None,
                "test": self.test.to_dict(include_null),
                "replicate": self.replicate.to_dict(include_null) if self.replicate is not None else None,
            }
        )


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself when it is a Generator, else a new one seeded with it."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def same_model_check(
    corpus: Corpus,
    reference: str,
    suspect: str,
    panel: Sequence[str],
    features: Features,
    prompt_ids: Sequence[str],
    groups: Mapping[str, str] | None = None,
) -> SameModelCheck:
    """Share of prompts on which S's response is closer to R's than any two panel members (from
    different groups) are to each other; the same share for each panel member against the others.

    The cosines are float32 products of the embeddings, not the store's float64 ``embedding``
    column: a verbatim copy is "closer" than an identical panel pair only by rounding, and the two
    precisions break such ties differently (one prompt of the embedded case)."""
    pids = list(prompt_ids)
    panel = [m for m in panel if m != suspect]
    out = SameModelCheck(threshold=SAME_MODEL_SHARE)
    if len(panel) < 2 or not pids:
        return out
    r = features.embeddings(reference, pids)
    X = np.stack([features.embeddings(m, pids) for m in panel])
    s = features.embeddings(suspect, pids)
    ok_r = np.linalg.norm(r, axis=1) > 0
    ok_s = np.linalg.norm(s, axis=1) > 0
    ok_p = np.linalg.norm(X, axis=2) > 0  # [K, P]
    labels = [str((groups or {}).get(m, m)) for m in panel]
    G = np.einsum("jpd,kpd->pjk", X, X)
    K = len(panel)
    diff_group = np.array([[labels[a] != labels[b] for b in range(K)] for a in range(K)])

    def ceiling(exclude: int | None):
        keep = np.ones(K, dtype=bool)
        if exclude is not None:
            keep[exclude] = False
        pair_ok = diff_group & keep[:, None] & keep[None, :] & np.triu(np.ones((K, K), dtype=bool), 1)
        valid = ok_p[:, None, :] & ok_p[None, :, :] & pair_ok[:, :, None]  # [K, K, P]
        vals = np.where(valid.transpose(2, 0, 1), G, -np.inf)
        return vals.reshape(len(pids), -1).max(1)

    ceil_all = ceiling(None)
    cos_s = (r * s).sum(1)
    use = ok_r & ok_s & np.isfinite(ceil_all)
    if use.sum() == 0:
        return out
    out.share = float(np.mean(cos_s[use] > ceil_all[use]))
    texts_r = [(corpus.text(reference, p) or "").strip() for p in pids]
    texts_s = [(corpus.text(suspect, p) or "").strip() for p in pids]
    out.exact_share = float(np.mean([a == b for a, b, u in zip(texts_r, texts_s, use) if u]))
    out.n_prompts = int(use.sum())
    shares = {}
    for j, m in enumerate(panel):
        c = ceiling(j)
        cos_j = (r * X[j]).sum(1)
        u = ok_r & ok_p[j] & np.isfinite(c)
        if u.sum():
            shares[m] = float(np.mean(cos_j[u] > c[u]))
    out.panel_shares = shares
    out.panel_max = max(shares.values()) if shares else None
    return out


def replicate_check(
    corpus: Corpus,
    reference: str,
    suspect: str,
    replicates: Sequence[str],
    controls: Sequence[str],
    features: Features,
    prompt_ids: Sequence[str],
    *,
    rng: np.random.Generator | None = None,
    n_resamples: int = 1999,
    groups: Mapping[str, str] | None = None,
    store: ClosenessStore | None = None,
) -> ReplicateTest:
    """The replicate test on the raw embedding cosines to R's answers (the ``embedding`` signal's
    values before any centring: the anchors, R's own resample and the controls, already say what
    "close" means on each prompt). Controls sharing a ``groups`` label are averaged into one
    before the controls are averaged. The cosines are read from ``store`` (analyse passes its
    own); without one, or with one that lacks some of these models, a store of them is made."""
    models = check_models(reference, [suspect, *replicates, *controls])
    pids = prompts_for(corpus, reference, prompt_ids)
    store = covering_store(store, corpus, features, [reference, *models])

    def row(m: str) -> np.ndarray:
        return store.row("embedding", reference, m, pids)

    def mean_of(rows: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(rows)
        counts = np.isfinite(stacked).sum(0)
        with np.errstate(all="ignore"):
            return np.where(counts > 0, np.nansum(stacked, 0) / counts, np.nan)

    units: dict[str, list[np.ndarray]] = {}
    for m in controls:
        units.setdefault(str((groups or {}).get(m, m)), []).append(row(m))
    control = mean_of([mean_of(rows) for rows in units.values()]) if units else None
    return replicate_test(
        row(suspect),
        mean_of([row(m) for m in replicates]),
        control,
        as_generator(rng),
        n_resamples=n_resamples,
        prompt_ids=pids,
        names={"suspect": suspect, "reference": reference, "replicates": list(replicates), "controls": list(controls)},
    )


TOP_PROMPTS = 5  # prompts cited per finding: where the suspect's contrast exceeds the independent models' most


def _top_prompts(D: np.ndarray, pids: Sequence[str], store: ClosenessStore, suspect: str, reference: str):
    """The prompts where the suspect's contrast towards R (column 0) exceeds the units' mean most, with
    the (suspect record, reference record) hashes behind each: what a reader checks by hand."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        excess = D[0, 0] - (np.nanmean(D[1:, 0], axis=0) if D.shape[0] > 1 else 0.0)
    order = [i for i in np.argsort(-np.nan_to_num(excess, nan=-np.inf)) if np.isfinite(excess[i])][:TOP_PROMPTS]
    chosen = [pids[i] for i in order]
    rec_s = store.features.records(suspect, chosen)
    rec_r = store.features.records(reference, chosen)
    return chosen, list(zip(rec_s, rec_r))


def analyse(
    corpus: Corpus,
    reference: str,
    suspect: str,
    panel: Sequence[str],
    *,
    rng: np.random.Generator | int | None = None,
    settings: AnalysisSettings | None = None,
    families: Mapping[str, str] | None = None,
    prompt_ids: Sequence[str] | None = None,
    replicates: Sequence[str] = (),
    store: ClosenessStore | None = None,
) -> Verdict:
    """Was ``suspect`` distilled from ``reference``? Calibrated against the panel's independent models.

    ``panel``: the control models (never the suspect or the reference). Those that ``families``
    labels (model -> vendor-line family such as "openai-gpt4") are references of other vendor
    lines: R's closeness is contrasted with theirs; the others are the independent models the
    test is calibrated on (docs/methods.md). A panel reference of R's own family is dropped, and
    the verdict says so. ``rng``: a ``numpy.random.Generator`` (or a seed); its state is recorded.
    ``settings``: signals, alpha, resamples and the learned parameters (default
    :class:`AnalysisSettings`). ``prompt_ids``: restrict to these prompts (default: every prompt
    the reference answered). ``store``: a shared :class:`ClosenessStore` of the corpus (a
    benchmark or an attribution passes one, so each closeness is computed once).
    ``replicates``: labels of R sampled again (docs/methods.md); never panel members.
    """
    # the linear algebra here is small: one BLAS thread is faster, and immune to the
    # pathological spinning of multi-threaded OpenBLAS on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        return _analyse(
            corpus,
            reference,
            suspect,
            panel,
            as_generator(rng),
            settings or AnalysisSettings(),
            dict(families or {}),
            prompt_ids,
            list(replicates),
            store,
        )


def _analyse(
    corpus: Corpus,
    reference: str,
    suspect: str,
    panel: Sequence[str],
    rng: np.random.Generator,
    settings: AnalysisSettings,
    families: dict[str, str],
    prompt_ids: Sequence[str] | None,
    replicates: list[str],
    store: ClosenessStore | None,
) -> Verdict:
    replicates = [m for m in dict.fromkeys(replicates) if m != reference]
    if suspect in replicates:
        raise ValueError(f"{suspect!r} is both the suspect and a replicate of the reference")
    notes = []
    given = list(dict.fromkeys(panel))
    panel = [m for m in given if m not in (suspect, reference, *replicates)]
    if len(panel) < len(given):
        left = [m for m in given if m not in panel]
        notes.append(f"left out of the panel: {', '.join(left)} (the suspect, the reference or a replicate)")
    for m in [reference, suspect, *panel, *replicates]:
        if m not in corpus.responses:
            raise ValueError(f"model {m!r} has no responses in corpus {corpus.name!r}")
    store = store or ClosenessStore(corpus)
    features: Features = store.features
    names = list(settings.signals) if settings.signals is not None else signal_names(default_only=True)
    unknown = [g for g in names if g not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal(s) {unknown}; known: {sorted(SIGNALS)}")
    params = settings.engine
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.common_prompts([reference]))
    design, dropped = pair_design(reference, suspect, panel, families)
    if dropped:
        notes.append(
            f"left out of the panel: {', '.join(dropped)} (of {reference}'s own family, so neither a control "
            "nor a contrast)"
        )
    D = contrasts(store, design, names, pids)
    weights = {g: float(params.weights.get(g, 0.0)) for g in names}
    test = contrast_test(
        D,
        suspect,
        design.units,
        rng,
        weights=weights,
        kappa=params.kappa,
        n_resamples=settings.n_resamples,
        ci_level=settings.ci_level,
    )
    alpha = settings.alpha
    findings = [
        Finding.from_test(t, alpha, *_top_prompts(D[t.name], pids, store, suspect, reference)) for t in test.signals
    ]
    sm = same_model_check(corpus, reference, suspect, panel, features, pids, families)
    if not test.defined:
        notes.append(
            "the combined test is undefined: "
            + (
                f"the panel has {len(design.units)} independent model{'s' if len(design.units) != 1 else ''} "
                "(references of other vendors anchor the contrast but cannot calibrate it; at least two "
                "independent models are needed)"
                if len(design.units) < 2
                else "too few usable prompts"
            )
        )
    significant = bool(test.defined and np.isfinite(test.p_value) and test.p_value < alpha)
    rep = (
        replicate_check(
            corpus,
            reference,
            suspect,
            replicates,
            list(design.units),
            features,
            pids,
            rng=rng,
            n_resamples=settings.n_resamples,
            store=store,
        )
        if replicates
        else None
    )
    rep_same = bool(rep is not None and rep.defined and rep.p_value < alpha)
    basis = "panel"
    if significant and rep is not None and rep.defined:
        label = SAME_MODEL if rep_same else DISTILLED
    elif significant:
        label = SAME_MODEL if sm.says_copy else DISTILLED
    elif not test.defined and rep_same:
        label, basis = SAME_MODEL, "replicate"
        notes.append(
            f"'same model or direct derivative' rests on the replicate test alone: {suspect} is nearer to "
            f"{reference}'s own resample than to the {len(design.units)} control model"
            f"{'s' if len(design.units) != 1 else ''}; with so few controls the test cannot show how close other "
            "independent models could come, and whether a non-copy was distilled from R cannot be tested"
        )
    else:
        label = NO_EVIDENCE
        if rep_same:
            notes.append(
                "the replicate test puts the suspect nearer to R's own resample than to the controls, "
                "but the calibrated panel test does not find it closer to R than independent models are"
            )
    if rep is not None and not rep.defined:
        notes.append(f"the replicate test is undefined: {rep.note}")
    headline = rep if basis == "replicate" else test
    K = len(design.units)
    power = panel_power(K, test.effect_size, alpha, df=test.df, kappa=test.kappa) if K >= 1 else None
    return Verdict(
        label=label,
        reference=reference,
        suspect=suspect,
        panel=list(panel),
        strength=strength_words(headline.p_value, alpha),
        p_value=headline.p_value,
        statistic=headline.statistic,
        effect_size=headline.relative_closeness if basis == "replicate" else test.effect_size,
        ci=ConfidenceInterval.of(headline.ci),
        alpha=alpha,
        findings=findings,
        same_model=sm,
        test=test,
        n_prompts=len(pids),
        notes=notes,
        replicate=rep,
        basis=basis,
        score=test.suspect_value,
        units=list(design.units),
        anchors=list(design.columns[0].anchors),
        power=power,
    )
