"""The signals by name: ``SIGNALS`` maps each name to its function; run one or several."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.embedding import embedding_signal
from forensics.signals.fingerprint import fingerprint_signal
from forensics.signals.identity import identity_signal
from forensics.signals.idiosyncratic import idiosyncratic_signal
from forensics.signals.refusal import refusal_signal
from forensics.signals.scores import SignalScores, prompts_for
from forensics.signals.style import style_signal

SignalFn = Callable[..., SignalScores]
SIGNALS: dict[str, SignalFn] = {
    "embedding": embedding_signal,
    "fingerprint": fingerprint_signal,
    "style": style_signal,
    "refusal": refusal_signal,
    "idiosyncratic": idiosyncratic_signal,
    "identity": identity_signal,
}
DEFAULT_SIGNALS: tuple[str, ...] = tuple(SIGNALS)


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
    """Run the named signals (default: all) for ``models`` against ``reference``."""
    features = features or Features(corpus)
    names = list(signals) if signals is not None else list(DEFAULT_SIGNALS)
    unknown = [s for s in names if s not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal(s) {unknown}; known: {sorted(SIGNALS)}")
    pids = prompts_for(corpus, reference, prompt_ids)
    return [SIGNALS[s](corpus, reference, models, features=features, prompt_ids=pids) for s in names]
