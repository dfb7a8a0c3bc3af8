"""Results as JSON: what ``to_dict`` of every test and verdict returns."""

from __future__ import annotations

import numpy as np


def jsonable(obj):
    """``obj`` with numpy scalars and arrays as plain Python, and NaN or infinity as None (valid JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    return obj
