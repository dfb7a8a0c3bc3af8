"""The signal registry: each signal module registers itself with its name, title and description.

``SIGNALS`` maps a name to its :class:`SignalSpec`; a spec is called like the signal function.
Adding a signal is one new module in this package that uses :func:`register`; the package
imports every module in it, so nothing else needs to be edited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.scores import SignalScores, prompts_for

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
