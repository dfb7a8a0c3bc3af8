"""Closeness signals: per prompt, how close is each model's response to the reference's?

Every signal is a module of this package that registers a function ``signal(corpus, reference,
models, features=None, prompt_ids=None) -> SignalScores``, usually by writing only its values with
:func:`closeness_signal` (else :func:`register`); importing the package imports every module in it,
so a new signal is one new file. The methods are described in ``docs/methods.md``.
"""

import importlib
import pkgutil

from forensics.signals.registry import (
    SIGNALS,
    SignalSpec,
    closeness_matrix,
    closeness_signal,
    compute_signals,
    register,
    signal_names,
    signal_title,
)
from forensics.signals.scores import Measured, SignalScores
from forensics.signals.store import ClosenessStore

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from forensics.signals.descriptive import closeness_summary, raw_cosines  # noqa: E402
from forensics.signals.embedding import embedding_signal  # noqa: E402
from forensics.signals.fingerprint import fingerprint_signal  # noqa: E402
from forensics.signals.identity import identity_signal, reference_vendor, vendor_from_name  # noqa: E402
from forensics.signals.idiosyncratic import idiosyncratic_signal  # noqa: E402
from forensics.signals.lexical import lexical_signal  # noqa: E402
from forensics.signals.refusal import refusal_signal  # noqa: E402
from forensics.signals.style import style_signal  # noqa: E402

__all__ = [
    "ClosenessStore",
    "Measured",
    "SIGNALS",
    "SignalScores",
    "SignalSpec",
    "closeness_matrix",
    "closeness_signal",
    "closeness_summary",
    "compute_signals",
    "embedding_signal",
    "fingerprint_signal",
    "identity_signal",
    "idiosyncratic_signal",
    "lexical_signal",
    "refusal_signal",
    "style_signal",
    "raw_cosines",
    "reference_vendor",
    "register",
    "signal_names",
    "signal_title",
    "vendor_from_name",
]
