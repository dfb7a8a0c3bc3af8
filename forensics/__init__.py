"""Distillation-fingerprint forensics: was this suspect model distilled from that reference?

The public API is small; each name is taken from the pipeline stage that holds it.
"""

import importlib

# Loaded on first use (PEP 562): importing every stage costs about 4.5 s (python -X importtime,
# 2 cores), and every ``forensics.<stage>`` import and every CLI command runs this file first, so
# ``from forensics.probes import ...`` or ``forensics verify`` would pay for the whole pipeline.
_STAGE_OF = {
    "run_lineage_benchmark": "forensics.bench",
    "Corpus": "forensics.corpus",
    "Response": "forensics.corpus",
    "load_benchmark_corpus": "forensics.corpus",
    "load_evidence": "forensics.corpus",
    "load_lineage": "forensics.corpus",
    "EvidenceLog": "forensics.evidence",
    "collect": "forensics.evidence",
    "read_records": "forensics.evidence",
    "verify": "forensics.evidence",
    "Embedder": "forensics.features",
    "load_probe_sets": "forensics.probes",
    "select_probes": "forensics.probes",
    "Decoding": "forensics.providers",
    "parse_spec": "forensics.providers",
    "build_report": "forensics.report",
    "scan_traffic": "forensics.traffic",
    "render_report": "forensics.report",
    "Attribution": "forensics.verdict",
    "Verdict": "forensics.verdict",
    "analyse": "forensics.verdict",
    "attribute": "forensics.verdict",
}
__all__ = sorted(_STAGE_OF)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _STAGE_OF:
        raise AttributeError(f"module 'forensics' has no attribute {name!r}")
    value = getattr(importlib.import_module(_STAGE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
