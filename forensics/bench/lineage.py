"""The lineage benchmark: detection AUC, calibration and teacher attribution on real models.

Runs the protocol of ``shared/benchmarks/README.md`` on any folder in that layout
(``lineage.json`` + one sub-folder per corpus); how pairs and panels are built is in
``docs/methods.md``. The engine and every peer are scored on the same pairs, panels and prompts,
from one :class:`forensics.signals.ClosenessStore` per corpus. The engine's learned parameters
are refitted without the suspect being scored whenever the shipped ones saw its corpus.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from forensics.bench.fit import FIT_SIGNALS, data_digest, pair_contrasts, params_for
from forensics.bench.peers import PEERS, PeerContext, raw_closeness
from forensics.corpus import load_benchmark_corpus, load_lineage
from forensics.features import Features
from forensics.signals import ClosenessStore, signal_names
from forensics.verdict import AnalysisSettings, EngineParams, analyse, attribute, vendor_of

METHODS = ("engine", "raw", "panelz", "classifier", "lexcontrast")
ENGINE_THRESHOLD = "contrast test p < {alpha}"
STRESS_PROMPTS = 160  # the size of the held-out multi-turn corpus


def auc_score(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """ROC AUC of positives against negatives (scikit-learn; ties count one half); undefined scores
    rank below every defined one; None if a side is empty."""
    if len(pos) == 0 or len(neg) == 0:
        return None
    x = np.asarray(list(pos) + list(neg), dtype=float)
    finite = x[np.isfinite(x)]
    floor = (finite.min() - 1.0) if finite.size else 0.0
    x = np.where(np.isfinite(x), x, floor)
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], x))


def subset_prompts(corpus, max_prompts: int | None, rng_seed: int, index: int):
    """The corpus on a random ``max_prompts`` of its prompts (drawn from ``rng_seed`` and the corpus's
    position ``index`` in the run), or whole: the one draw the benchmark and its embedding step share."""
    if max_prompts is None or max_prompts >= len(corpus.prompts):
        return corpus
    keep = np.random.default_rng([rng_seed, index, 7]).choice(sorted(corpus.prompts), size=max_prompts, replace=False)
    return corpus.subset(keep.tolist())


def lineage_pairs(lineage: dict) -> dict:
    """Pairs, panels and attribution tasks of one corpus, from its lineage.json entry.

    Returns {"references", "families", "pairs": [(R, S, kind)], "panels": {(R, S): [...]},
    "students": {S: teacher_family}, "independents"} with kind in {"positive", "family",
    "negative", "other"} ("other": S distilled from another family; used only for attribution).
    """
    refs = sorted(m for m, info in lineage.items() if info.get("role") == "reference")
    families = {m: lineage[m].get("family") or m for m in refs}
    independents = sorted(m for m, info in lineage.items() if info.get("role") == "independent")
    students = {m: info.get("teacher_family") for m, info in lineage.items() if info.get("role") == "distilled"}
    pairs = []
    for s in sorted(students) + independents:
        for r in refs:
            if s in students:
                if r == lineage[s].get("closest_ref"):
                    kind = "positive"
                elif families[r] == students[s]:
                    kind = "family"
                else:
                    kind = "other"
            else:
                kind = "negative"
            pairs.append((r, s, kind))
    panels = {
        (r, s): [m for m in independents if m != s] + [m for m in refs if families[m] != families[r]]
        for r, s, _ in pairs
    }
    return {
        "references": refs,
        "families": families,
        "pairs": pairs,
        "panels": panels,
        "students": students,
        "independents": independents,
    }


@dataclass(frozen=True)
class PairResult:
    """One scored pair: every method's score and decision; the engine's verdict when kept."""

    reference: str
    suspect: str
    kind: str
    panel: tuple[str, ...]
    scores: Mapping[str, float]
    declared: Mapping[str, bool]
    p_value: float = float("nan")
    undefined: bool = False
    verdict: object = None  # forensics.verdict.Verdict of the engine (all-prompt run only)
    refitted: bool = False

    def to_dict(self) -> dict:
        v = self.verdict
        return {
            "reference": self.reference,
            "suspect": self.suspect,
            "kind": self.kind,
            "panel": list(self.panel),
            "score": self.scores.get("engine"),
            "statistic": v.statistic if v is not None else None,
            "p_value": self.p_value,
            "label": str(v.label) if v is not None else None,
            "effect_size": v.effect_size if v is not None else None,
            "units": list(v.units) if v is not None else None,
            "signals": {f.signal: {"statistic": f.statistic, "p_value": f.p_value} for f in v.findings}
            if v is not None
            else {},
            "same_model_share": v.same_model.share if v is not None else None,
            "peers": {m: s for m, s in self.scores.items() if m != "engine"},
            "refitted": self.refitted,
        }


@dataclass(frozen=True)
class AttributionDetail:
    """One student's top-ranked reference under one method."""

    student: str
    teacher_family: str
    top: str | None
    top_family: str | None
    correct: bool
    vendor_correct: bool
    answer: str | None = None  # the engine's one answer
    kind: str | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class MethodResult:
    """The figures of one method in one run (or their mean over seeds: counts become mean counts)."""

    auc: float | None
    family_auc: float | None
    tpr: float | None
    fpr: float | None
    n_true_positives: float
    n_false_positives: float
    n_undefined: float
    correct: float
    vendor_correct: float
    total: int
    details: tuple[AttributionDetail, ...] = ()
    n_runs: int = 1

    def to_dict(self) -> dict:
        return {
            "auc": self.auc,
            "family_auc": self.family_auc,
            "tpr": self.tpr,
            "fpr": self.fpr,
            "n_true_positives": self.n_true_positives,
            "n_false_positives": self.n_false_positives,
            "n_undefined": self.n_undefined,
            "attribution": {
                "correct": self.correct,
                "vendor_correct": self.vendor_correct,
                "total": self.total,
                "details": [d.to_dict() for d in self.details],
            },
            "n_runs": self.n_runs,
        }

    @classmethod
    def mean(cls, runs: Sequence[MethodResult]) -> MethodResult:
        def avg(key):
            xs = [getattr(r, key) for r in runs if getattr(r, key) is not None and np.isfinite(getattr(r, key))]
            return float(np.mean(xs)) if xs else None

        return cls(
            avg("auc"),
            avg("family_auc"),
            avg("tpr"),
            avg("fpr"),
            avg("n_true_positives") or 0.0,
            avg("n_false_positives") or 0.0,
            avg("n_undefined") or 0.0,
            avg("correct") or 0.0,
            avg("vendor_correct") or 0.0,
            runs[0].total,
            runs[0].details if len(runs) == 1 else (),
            len(runs),
        )


@dataclass
class CorpusResult:
    """One corpus (or stress variant) of a benchmark run: every method side by side."""

    corpus: str
    variant: str | None
    n_prompts: int
    n_pos: int
    n_neg: int
    n_family_pos: int
    alpha: float
    methods: dict[str, MethodResult]
    by_prompts: dict[str, dict[str | int, MethodResult]]
    thresholds: dict[str, str]
    pairs: list[PairResult] = field(default_factory=list)
    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    learned: str = ""
    signals: list[str] = field(default_factory=list)
    n_resamples: int = 0
    seeds: int = 0
    rng_seed: int = 0
    timing: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return self.corpus if self.variant is None else f"{self.corpus} [{self.variant}]"

    @property
    def engine(self) -> MethodResult:
        return self.methods.get("engine") or next(iter(self.methods.values()))

    def to_dict(self) -> dict:
        """The JSON shape ``forensics bench lineage --json`` writes (readers rely on its keys)."""
        main = self.engine.to_dict()
        return {
            "corpus": self.corpus,
            "variant": self.variant,
            "label": self.label,
            "n_prompts": self.n_prompts,
            "n_pos": self.n_pos,
            "n_neg": self.n_neg,
            "n_family_pos": self.n_family_pos,
            **{k: main[k] for k in ("auc", "family_auc", "tpr", "fpr", "n_true_positives", "n_false_positives")},
            "n_undefined": main["n_undefined"],
            "threshold": self.thresholds.get("engine", next(iter(self.thresholds.values()), "")),
            "alpha": self.alpha,
            "attribution": main["attribution"],
            "by_prompts": {str(k): m.to_dict() for k, m in self.by_prompts.get("engine", {}).items()},
            "methods": {name: m.to_dict() for name, m in self.methods.items()},
            "by_prompts_methods": {
                name: {str(k): m.to_dict() for k, m in sizes.items()} for name, sizes in self.by_prompts.items()
            },
            "thresholds": dict(self.thresholds),
            "pairs": [p.to_dict() for p in self.pairs],
            "answers": self.answers,
            "learned": self.learned,
            "signals": self.signals,
            "n_resamples": self.n_resamples,
            "seeds": self.seeds,
            "rng_seed": self.rng_seed,
            "timing": self.timing,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class _Run:
    """What every corpus of one benchmark call shares."""

    seeds: int
    rng_seed: int
    methods: tuple[str, ...]
    settings: AnalysisSettings
    log: Callable[[str], None]


@dataclass
class _Prepared:
    """One corpus, loaded and measured, before any pair is scored."""

    name: str
    index: int
    corpus: object
    spec: dict
    store: ClosenessStore
    all_pids: list[str]
    embed_s: float
    closeness_s: float
    digest: str


def _evaluate(results: dict, spec: dict, method: str) -> MethodResult:
    """Figures of one method from results[(R, S)] = PairResult."""
    kinds = {(r, s): k for r, s, k in spec["pairs"]}
    score = {p: results[p].scores[method] for p in kinds}
    declared = {p: results[p].declared[method] for p in kinds}
    pos = [p for p, k in kinds.items() if k == "positive"]
    neg = [p for p, k in kinds.items() if k == "negative"]
    fam = [p for p, k in kinds.items() if k in ("positive", "family")]
    details = []
    for s, tf in sorted(spec["students"].items()):
        top = _top(results, spec, s, method)
        details.append(
            AttributionDetail(
                s,
                tf,
                top,
                spec["families"].get(top),
                bool(top is not None and spec["families"].get(top) == tf),
                bool(top is not None and tf and vendor_of(spec["families"][top]) == vendor_of(tf)),
            )
        )
    return MethodResult(
        auc=auc_score([score[p] for p in pos], [score[p] for p in neg]),
        family_auc=auc_score([score[p] for p in fam], [score[p] for p in neg]),
        tpr=float(np.mean([declared[p] for p in pos])) if pos else None,
        fpr=float(np.mean([declared[p] for p in neg])) if neg else None,
        n_true_positives=float(sum(declared[p] for p in pos)),
        n_false_positives=float(sum(declared[p] for p in neg)),
        n_undefined=float(sum(results[p].undefined for p in pos + neg)) if method == "engine" else 0.0,
        correct=float(sum(d.correct for d in details)),
        vendor_correct=float(sum(d.vendor_correct for d in details)),
        total=len(details),
        details=tuple(details),
    )


def _top(results: dict, spec: dict, suspect: str, method: str) -> str | None:
    scored = {r: results[(r, suspect)].scores[method] for r in spec["references"] if (r, suspect) in results}
    scored = {r: v for r, v in scored.items() if np.isfinite(v)}
    return max(sorted(scored), key=lambda r: scored[r]) if scored else None


def _params(prep: _Prepared, suspect: str, run: _Run, pcs_all, digests) -> tuple[EngineParams, bool]:
    shipped = run.settings.engine
    if not pcs_all:
        return shipped, False
    return params_for(pcs_all, suspect, shipped, digests, run.settings.alpha)


def _score_config(prep: _Prepared, spec: dict, pids: list[str], rng_seed, run: _Run, params, keep: bool, timing):
    """Every method on every pair of one configuration (the same prompts, panels and pairs for all)."""
    results: dict = {}
    families = spec["families"]
    peer_cache: dict = {}
    for r, s, kind in spec["pairs"]:
        pan = spec["panels"][(r, s)]
        scores, declared, p, undefined, verdict, refit = {}, {}, float("nan"), False, None, False
        if "engine" in run.methods:
            t0 = time.perf_counter()
            engine_params, refit = params[s]
            v = analyse(
                prep.corpus,
                r,
                s,
                pan,
                rng=np.random.default_rng(rng_seed),
                settings=replace(run.settings, params=engine_params),
                families={m: families[m] for m in [r, *pan] if m in families},
                prompt_ids=pids,
                store=prep.store,
            )
            scores["engine"], p, undefined = v.score, v.p_value, not v.test.defined
            declared["engine"] = bool(np.isfinite(v.p_value) and v.p_value < run.settings.alpha)
            verdict = v if keep else None
            timing["analysis"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for name in run.methods:
            if name == "engine":
                continue
            ctx = PeerContext(prep.store, r, s, pan, families, pids, np.random.default_rng(0), peer_cache)
            scores[name], declared[name] = PEERS[name].run(ctx)
        timing["peers"] += time.perf_counter() - t0
        results[(r, s)] = PairResult(r, s, kind, tuple(pan), scores, declared, p, undefined, verdict, refit)
    return results


def _answers(prep: _Prepared, spec: dict, results: dict, run: _Run, params, timing) -> dict[str, dict[str, int]]:
    """The engine's one answer for every student and every independent model (counts per answer)."""
    t0 = time.perf_counter()
    out = {"students": Counter(), "independents": Counter()}
    details = {}
    for s in sorted(spec["students"]) + spec["independents"]:
        verdicts = {r: results[(r, s)].verdict for r in spec["references"] if results[(r, s)].verdict is not None}
        a = attribute(
            prep.corpus,
            s,
            spec["references"],
            [m for m in spec["independents"] if m != s],
            rng=np.random.default_rng(run.rng_seed),
            families=spec["families"],
            settings=replace(run.settings, params=params[s][0]),
            prompt_ids=prep.all_pids,
            store=prep.store,
            verdicts=verdicts,
        )
        out["students" if s in spec["students"] else "independents"][str(a.kind)] += 1
        details[s] = a
    timing["attribution"] = time.perf_counter() - t0
    return {k: dict(v) for k, v in out.items()}, details


def _variant(prep: _Prepared, variant, spec, sizes_wanted, run: _Run, params, learned: str) -> CorpusResult:
    t_start = time.time()
    timing = {"embedding": 0.0, "analysis": 0.0, "peers": 0.0}
    all_pids = prep.all_pids
    sizes: list = []
    for size in sizes_wanted:
        key = "all" if (size == "all" or int(size) >= len(all_pids)) else int(size)
        if key not in sizes:
            sizes.append(key)
    if variant is None and "all" not in sizes:
        sizes.append("all")
    by_prompts: dict = {m: {} for m in run.methods}
    headline, pairs, answers = None, [], {}
    label = prep.name if variant is None else f"{prep.name} [{variant}]"
    for size in sizes:
        runs: dict = {m: [] for m in run.methods}
        reps = 1 if size == "all" else max(1, int(run.seeds))
        for rep in range(reps):
            ss = np.random.SeedSequence([run.rng_seed, prep.index, 0 if size == "all" else int(size), rep])
            rng = np.random.default_rng(ss)
            pids = all_pids if size == "all" else sorted(rng.choice(all_pids, size=int(size), replace=False).tolist())
            keep = size == "all"
            results = _score_config(prep, spec, pids, ss.generate_state(1)[0], run, params, keep, timing)
            for m in run.methods:
                runs[m].append(_evaluate(results, spec, m))
            if keep:
                pairs = list(results.values())
                if "engine" in run.methods and variant is None:
                    answers, details = _answers(prep, spec, results, run, params, timing)
                    eng = runs["engine"][-1]
                    runs["engine"][-1] = replace(
                        eng,
                        details=tuple(
                            replace(d, answer=details[d.student].answer, kind=str(details[d.student].kind))
                            for d in eng.details
                        ),
                    )
        for m in run.methods:
            by_prompts[m][size] = runs[m][0] if len(runs[m]) == 1 else MethodResult.mean(runs[m])
        headline = {m: by_prompts[m][size] for m in run.methods}
        run.log(
            f"[{label}] prompts={size}: "
            + "  ".join(f"{m} AUC={_fmt(by_prompts[m][size].auc)}" for m in run.methods)
            + f" ({time.time() - t_start:.0f}s)"
        )
    alpha = run.settings.alpha
    thresholds = {
        m: ENGINE_THRESHOLD.format(alpha=alpha) if m == "engine" else PEERS[m].threshold_text for m in run.methods
    }
    kinds = Counter(k for *_, k in spec["pairs"])
    return CorpusResult(
        corpus=prep.name,
        variant=variant,
        n_prompts=len(all_pids) if sizes[-1] == "all" else int(sizes[-1]),
        n_pos=kinds["positive"],
        n_neg=kinds["negative"],
        n_family_pos=kinds["positive"] + kinds["family"],
        alpha=alpha,
        methods=headline,
        by_prompts=by_prompts,
        thresholds=thresholds,
        pairs=pairs,
        answers=answers,
        learned=learned,
        signals=list(run.settings.signals or signal_names(default_only=True)),
        n_resamples=run.settings.n_resamples,
        seeds=run.seeds,
        rng_seed=run.rng_seed,
        timing=timing,
        seconds=time.time() - t_start,
    )


def weakest_independents(spec: dict, store: ClosenessStore, prompt_ids: Sequence[str], k: int = 2) -> list[str]:
    """The k independents least close to the references on average (raw cosine): the weak-panel stress."""
    closeness = {
        m: np.nanmean([raw_closeness(store, r, m, prompt_ids) for r in spec["references"]])
        for m in spec["independents"]
    }
    return sorted(closeness, key=lambda m: (closeness[m], m))[:k]


def _with_weak_panel(spec: dict, keep: list[str]) -> dict:
    weak = dict(spec)
    weak["panels"] = {
        key: [m for m in pan if m not in spec["independents"] or m in keep] for key, pan in spec["panels"].items()
    }
    return weak


def run_lineage_benchmark(
    data_dir: str | Path,
    corpora: Iterable[str] | None = None,
    prompts: Sequence[int | str] = (25, 50, 100, 200, "all"),
    seeds: int = 3,
    rng_seed: int = 20240601,
    settings: AnalysisSettings | None = None,
    embedder=None,
    progress: bool = True,
    log=None,
    max_prompts: int | None = None,
    methods: Sequence[str] = METHODS,
    stress: bool = False,
    workers: int | None = None,
) -> list[CorpusResult]:
    """Run the lineage benchmark on every corpus of ``data_dir`` (or the named ``corpora``).

    Every method in ``methods`` (the engine and the peers of :mod:`forensics.bench.peers`) is
    scored on exactly the same pairs, panels and prompts. ``prompts``: subsample sizes for the
    sample-efficiency table ("all" = every prompt); each size below "all" is averaged over
    ``seeds`` random subsets. The headline figures are those of the "all" run. ``settings``: the
    engine's settings (default :class:`forensics.verdict.AnalysisSettings`); when its learned
    parameters were fitted on a corpus of this run, each suspect is scored with parameters refitted
    on the other suspects' pairs (``CorpusResult.learned`` says which). With ``stress``,
    alpaca_eval is also run on 160-prompt subsets and with the panel cut to its two weakest
    independent models (docs/methods.md). ``max_prompts`` first restricts every corpus to a random
    subset of that many prompts (a quick smoke run). ``workers``: processes the closeness columns
    are computed in (default: the CPU count).
    """
    data_dir = Path(data_dir)
    lineage_all = load_lineage(data_dir)
    names = list(corpora) if corpora else sorted(n for n in lineage_all if (data_dir / n / "_prompts.jsonl").is_file())
    missing = [n for n in names if n not in lineage_all or not (data_dir / n / "_prompts.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"corpus folder(s) or lineage entries missing in {data_dir}: {missing}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    if log is None:
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    settings = settings or AnalysisSettings(n_resamples=999)
    run = _Run(seeds, rng_seed, tuple(dict.fromkeys(methods)), settings, log)
    prepared = []
    for ci, name in enumerate(names):
        corpus = subset_prompts(load_benchmark_corpus(data_dir / name), max_prompts, rng_seed, ci)
        spec = lineage_pairs({m: info for m, info in lineage_all[name].items() if m in corpus.responses})
        needed = sorted(set(spec["references"]) | set(spec["students"]) | set(spec["independents"]))
        features = Features(corpus, embedder=embedder)
        all_pids = sorted(corpus.prompts)
        log(f"[{name}] {len(all_pids)} prompts, {len(needed)} scored models; embedding responses")
        t0 = time.perf_counter()
        if needed:
            features.precompute(needed, all_pids)
        embed_s = time.perf_counter() - t0
        digest = data_digest(data_dir / name) if max_prompts is None else "subset"
        store = ClosenessStore(corpus, features, needed)
        t0 = time.perf_counter()
        store.precompute(run.settings.signals or signal_names(default_only=True), spec["references"], workers)
        closeness_s = time.perf_counter() - t0
        log(f"[{name}] every signal's closeness to {len(spec['references'])} references: {closeness_s:.0f} s")
        prepared.append(_Prepared(name, ci, corpus, spec, store, all_pids, embed_s, closeness_s, digest))
    shipped = settings.engine
    digests = {p.name: p.digest for p in prepared}
    seen = [p.name for p in prepared if shipped.fitted_on.get(p.name) == p.digest]
    pcs_all = []
    if seen and "engine" in run.methods:
        log(f"the shipped engine parameters were fitted on {', '.join(seen)}: refitting without each scored suspect")
        t0 = time.perf_counter()
        for p in prepared:
            pairs = [
                (r, s, k, p.spec["panels"][(r, s)]) for r, s, k in p.spec["pairs"] if k in ("positive", "negative")
            ]
            pcs_all += pair_contrasts(p.name, p.store, pairs, p.spec["families"], FIT_SIGNALS, p.all_pids)
        fit_s = time.perf_counter() - t0
    out = []
    for p in prepared:
        suspects = sorted(set(p.spec["students"]) | set(p.spec["independents"]))
        t0 = time.perf_counter()
        params = {s: _params(p, s, run, pcs_all, digests) for s in suspects}
        refit_s = time.perf_counter() - t0
        learned = (
            "cross-validated: each suspect scored with parameters refitted on the other suspects' pairs of this run"
            if any(r for _, r in params.values())
            else f"shipped parameters ({shipped.note or 'fitted on ' + ', '.join(shipped.fitted_on) or 'unfitted'})"
        )
        variants = [(None, p.spec, list(prompts))]
        if stress and p.name == "alpaca_eval":
            variants.append((f"{min(STRESS_PROMPTS, len(p.all_pids))} prompts", p.spec, [STRESS_PROMPTS]))
            weak = weakest_independents(p.spec, p.store, p.all_pids)
            variants.append(
                (f"weak panel: {', '.join(weak)} + other-family references", _with_weak_panel(p.spec, weak), ["all"])
            )
        for variant, vspec, sizes_wanted in variants:
            res = _variant(p, variant, vspec, sizes_wanted, run, params, learned)
            if variant is None:
                res.timing["embedding"] = p.embed_s
                res.timing["closeness"] = p.closeness_s
                res.timing["refit"] = refit_s + (fit_s / len(prepared) if pcs_all else 0.0)
                res.seconds += p.embed_s + p.closeness_s + res.timing["refit"]
            out.append(res)
    return out


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _num(x: float) -> str:
    """A count, or a mean count over seeds to one decimal."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def format_results(results: Sequence[CorpusResult]) -> str:
    """Readable tables: per run, the methods side by side, the engine's margin over each peer,
    attribution (family and vendor), the engine's one answers, sample efficiency and timings."""
    lines = []
    for r in results:
        lines.append(f"== {r.label} ({r.n_prompts} prompts) ==")
        lines.append(f"  pairs: {r.n_pos} positive, {r.n_neg} negative, {r.n_family_pos} family-positive")
        if r.learned:
            lines.append(f"  engine parameters: {r.learned}")
        lines.append(
            f"    {'method':<12s} {'AUC':>6s} {'famAUC':>7s} {'TPR':>13s} {'FPR':>13s} {'top-1 fam':>10s} "
            f"{'vendor':>7s}  threshold"
        )
        for name, m in r.methods.items():
            lines.append(
                f"    {name:<12s} {_fmt(m.auc):>6s} {_fmt(m.family_auc):>7s} "
                f"{_fmt(m.tpr, 2) + ' (' + _num(m.n_true_positives) + '/' + str(r.n_pos) + ')':>13s} "
                f"{_fmt(m.fpr, 2) + ' (' + _num(m.n_false_positives) + '/' + str(r.n_neg) + ')':>13s} "
                f"{_num(m.correct) + '/' + str(m.total):>10s} {_num(m.vendor_correct) + '/' + str(m.total):>7s}  "
                f"{r.thresholds.get(name, '')}"
            )
        eng = r.methods.get("engine")
        if eng is not None and eng.auc is not None:
            margins = [
                f"{name} {eng.auc - m.auc:+.3f}"
                for name, m in r.methods.items()
                if name != "engine" and m.auc is not None
            ]
            if margins:
                lines.append("  engine AUC margin over each peer: " + ", ".join(margins))
        if eng is not None and eng.n_undefined:
            lines.append(
                f"  {_num(eng.n_undefined)} scored pair(s) could not be tested (fewer than two independent "
                "models in the panel): counted as not rejected"
            )
        if r.answers:
            for who, counts in r.answers.items():
                lines.append(
                    f"  engine's one answer, {who}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                )
        if eng is not None:
            for d in eng.details:
                lines.append(
                    f"    {d.student:28s} teacher family {str(d.teacher_family):18s} top: {str(d.top):24s} "
                    f"{'ok' if d.correct else ('vendor ok' if d.vendor_correct else 'WRONG'):9s}"
                    + (f" {d.answer}" if d.answer else "")
                )
        sizes = r.by_prompts.get("engine") or next(iter(r.by_prompts.values()), {})
        if len(sizes) > 1:
            lines.append("  sample efficiency, AUC / top-1 family (mean over seeds):")
            lines.append(f"    {'prompts':>8s} " + " ".join(f"{name:>17s}" for name in r.by_prompts))
            for size in sizes:
                cells = [
                    f"{_fmt(r.by_prompts[name][size].auc)} / {r.by_prompts[name][size].correct:.1f}"
                    for name in r.by_prompts
                ]
                lines.append(f"    {str(size):>8s} " + " ".join(f"{c:>17s}" for c in cells))
        t = r.timing
        if t:
            lines.append(
                "  time: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()) + f" ({r.seconds:.0f} s in all)"
            )
    return "\n".join(lines)
