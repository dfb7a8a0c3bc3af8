"""Closeness signals: per prompt, how close is each model's response to the reference's?

Every signal is a function ``signal(corpus, reference, models, features=None, prompt_ids=None)
-> SignalScores`` in a module of its own, registered by name in ``SIGNALS``; the methods are
described in ``docs/methods.md``.
"""

from forensics.signals.descriptive import closeness_summary, raw_cosines
from forensics.signals.embedding import embedding_signal
from forensics.signals.fingerprint import fingerprint_signal
from forensics.signals.identity import identity_signal, reference_vendor, vendor_from_name
from forensics.signals.idiosyncratic import idiosyncratic_signal
from forensics.signals.refusal import refusal_signal
from forensics.signals.registry import DEFAULT_SIGNALS, SIGNALS, closeness_matrix, compute_signals
from forensics.signals.scores import SignalScores
from forensics.signals.style import style_signal

__all__ = [
    "DEFAULT_SIGNALS",
    "SIGNALS",
    "SignalScores",
    "closeness_matrix",
    "closeness_summary",
    "compute_signals",
    "embedding_signal",
    "fingerprint_signal",
    "identity_signal",
    "idiosyncratic_signal",
    "raw_cosines",
    "reference_vendor",
    "refusal_signal",
    "style_signal",
    "vendor_from_name",
]
