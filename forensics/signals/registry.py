"""The signal registry: each signal module registers itself with its name, title and description.

``SIGNALS`` maps a name to its :class:`SignalSpec`; a spec is called like the signal function.
Adding a signal is one new module in this package that uses :func:`closeness_signal` (or
:func:`register` for a whole signal function); the package imports every module in it, so nothing
else needs to be edited.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import wraps

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.scores import Measured, SignalScores, check_models, make_scores, present_matrix, prompts_for

SignalFn = Callable[..., SignalScores]


@dataclass(frozen=True)
class SignalSpec:
    """A registered signal: what it is called, what it means in plain words, and how to run it.

    ``standardise`` says whether the statistics centre and scale its values per prompt (True), use
    them as rates (False), or whether that depends on the corpus (None: see the description).
    ``order`` places it in tables; ``default`` says whether the verdict uses it unless told otherwise.
    """

    name: str
    title: str
    plain: str
    description: str
    standardise: bool | None
    compute: SignalFn
    order: int = 100
    default: bool = True

    def __call__(self, *args, **kwargs) -> SignalScores:
        return self.compute(*args, **kwargs)


SIGNALS: dict[str, SignalSpec] = {}


def register(
    name: str,
    *,
    title: str,
    plain: str,
    description: str,
    standardise: bool | None,
    order: int = 100,
    default: bool = True,
) -> Callable[[SignalFn], SignalFn]:
    """Class the decorated function as signal ``name``; a second signal of the same name is an error."""

    def wrap(fn: SignalFn) -> SignalFn:
        if name in SIGNALS and SIGNALS[name].compute is not fn:
            raise ValueError(
                f"signal {name!r} is registered twice ({SIGNALS[name].compute.__module__}, {fn.__module__})"
            )
        SIGNALS[name] = SignalSpec(name, title, plain, description, standardise, fn, order, default)
        return fn

    return wrap


def closeness_signal(
    name: str,
    *,
    title: str,
    plain: str,
    description: str,
    standardise: bool | None,
    order: int = 100,
    default: bool = True,
    pairwise: bool = True,
) -> Callable[[Callable[..., np.ndarray | Measured]], SignalFn]:
    """Register a signal from its own logic alone, ``values(features, reference, models, prompt_ids,
    **options) -> [models, prompts] array`` (or :class:`Measured`), and return the signal function
    ``(corpus, reference, models, features=None, prompt_ids=None, **options) -> SignalScores``.

    The signal function owns what every signal shares: it refuses the reference among the models,
    makes the corpus's :class:`Features` when none is given, scores every prompt the reference
    answered by default, sets NaN wherever a model's answer (and, for a ``pairwise`` signal, the
    reference's) is missing or empty, and returns the values with the records behind them and the
    registered description. A signal that is not ``pairwise`` reads the model's answers alone (a
    claimed identity) and is defined whether or not the reference answered."""

    def wrap(values: Callable[..., np.ndarray | Measured]) -> SignalFn:
        @wraps(values, assigned=("__module__", "__name__", "__qualname__", "__doc__"), updated=())
        def signal(
            corpus: Corpus,
            reference: str,
            models: Sequence[str],
            features: Features | None = None,
            prompt_ids: Sequence[str] | None = None,
            *args,
            **options,
        ) -> SignalScores:
            models = check_models(reference, models)
            features = features or Features(corpus)
            pids = prompts_for(corpus, reference, prompt_ids)
            out = values(features, reference, models, pids, *args, **options)
            out = out if isinstance(out, Measured) else Measured(out)
            answered = present_matrix(features, models, pids)
            if np.shape(out.values) != answered.shape:
                raise ValueError(f"signal {name!r}: values of shape {np.shape(out.values)}, not {answered.shape}")
            if pairwise:
                answered = answered & features.present(reference, pids)[None]
            kind = standardise if out.standardise is None else out.standardise
            if kind is None:
                raise ValueError(f"signal {name!r} must say whether its values are standardised")
            return make_scores(
                name,
                features,
                reference,
                models,
                pids,
                np.where(answered, out.values, np.nan),
                kind,
                out.description or description,
                **out.info,
            )

        shared = list(inspect.signature(signal, follow_wrapped=False).parameters.values())[:5]
        own = list(inspect.signature(values).parameters.values())[4:]
        signal.__signature__ = inspect.Signature(shared + own, return_annotation=SignalScores)
        return register(
            name,
            title=title,
            plain=plain,
            description=description,
            standardise=standardise,
            order=order,
            default=default,
        )(signal)

    return wrap


def signal_names(default_only: bool = False) -> list[str]:
    """Registered signal names in table order (only those the verdict uses by default, if asked)."""
    specs = sorted(SIGNALS.values(), key=lambda s: (s.order, s.name))
    return [s.name for s in specs if s.default or not default_only]


def signal_title(name: str) -> str:
    """The plain title of a signal, or the name itself for something that is not a signal."""
    spec = SIGNALS.get(name)
    return spec.title if spec else name


def closeness_matrix(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    signal: str = "embedding",
    features: Features | None = None,
    prompt_ids: Sequence[str] | None = None,
) -> SignalScores:
    """How close is each of ``models``' responses to ``reference``'s, prompt by prompt, for one signal.

    ``values[i, j]`` is the closeness of ``models[i]`` on ``prompt_ids[j]`` (NaN where undefined)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal!r}; known: {sorted(SIGNALS)}")
    return SIGNALS[signal](corpus, reference, models, features=features or Features(corpus), prompt_ids=prompt_ids)


def compute_signals(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    signals: Iterable[str] | None = None,
    features: Features | None = None,
    prompt_ids: Sequence[str] | None = None,
) -> list[SignalScores]:
    """Run the named signals (default: every default signal) for ``models`` against ``reference``."""
    features = features or Features(corpus)
    names = list(signals) if signals is not None else signal_names(default_only=True)
    unknown = [s for s in names if s not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal(s) {unknown}; known: {sorted(SIGNALS)}")
    pids = prompts_for(corpus, reference, prompt_ids)
    return [SIGNALS[s](corpus, reference, models, features=features, prompt_ids=pids) for s in names]
