"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = Path(os.environ.get("FORENSICS_SHARED_BENCHMARKS", ROOT.parent / "shared" / "benchmarks"))


@pytest.fixture
def shared_dev() -> Path:
    """The real lineage benchmark's dev split, or a clear skip when it is not beside the checkout."""
    dev = SHARED_BENCHMARKS / "dev"
    if not (dev / "lineage.json").is_file():
        pytest.skip(f"real benchmark data not found at {dev} (expected ../shared/benchmarks/dev beside the checkout)")
    return dev


@pytest.fixture(autouse=True, scope="session")
def forensics_home(tmp_path_factory) -> Path:
    """Seals in tests sign with a throwaway key, never the investigator's own."""
    home = tmp_path_factory.mktemp("forensics-home")
    os.environ["FORENSICS_HOME"] = str(home)
    return home


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)
