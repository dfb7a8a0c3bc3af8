"""Probes: the curated prompts sent to every model, and the answer keys that score them."""

from forensics.probes.answers import AnswerKey
from forensics.probes.loading import (
    DEFAULT_DIR,
    FAMILIES,
    PROBE_SET_SCHEMA,
    Probe,
    ProbeSet,
    ProbeSetError,
    check_probe_sets,
    load_probe_set,
    load_probe_sets,
    probe_set_stats,
    select_probes,
)

__all__ = [
    "DEFAULT_DIR",
    "FAMILIES",
    "PROBE_SET_SCHEMA",
    "AnswerKey",
    "Probe",
    "ProbeSet",
    "ProbeSetError",
    "check_probe_sets",
    "load_probe_set",
    "load_probe_sets",
    "probe_set_stats",
    "select_probes",
]
