"""Numbers for people, at a precision that does not flicker between machines.

The figures an nbval-checked notebook cell prints must not change in the last digit between
machines, so they are rounded coarsely here. Every layer above the verdict formats through these.
"""

from __future__ import annotations

import math


def is_finite(x: object) -> bool:
    """A number that is neither NaN nor infinite (None and non-numbers are not)."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_p(p: float | None, *, precise: bool = False) -> str:
    """A p-value for people. By default at a resolution that does not flicker between machines
    ('<0.001', '0.004', '0.23'); ``precise`` (the evidence report): '0 (below resolution)',
    '3.2e-04', '0.231'. 'n/a' when undefined."""
    if not is_finite(p):
        return "n/a"
    p = float(p)
    if precise:
        if p == 0:
            return "0 (below resolution)"
        return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_num(x: float | None, digits: int = 1, *, significant: bool = False) -> str:
    """A number for people: ``digits`` decimals (no "-0.0"), or with ``significant`` that many
    significant digits (e-notation when tiny or huge); '+inf'/'-inf', and 'n/a' for NaN or None."""
    if x is None:
        return "n/a"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    if significant:
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.2e}"
        return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")
    out = f"{x:.{digits}f}"
    return "0." + "0" * digits if out.lstrip("-") == "0." + "0" * digits else out  # no "-0.0"
