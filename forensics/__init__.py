"""Distillation-fingerprint forensics: was this suspect model distilled from that reference?

The public API is small; implementations live in modules named for what they hold.
"""
from forensics.collection import collect
from forensics.corpus import Corpus, Response, load_benchmark_corpus, load_evidence, load_lineage
from forensics.embeddings import Embedder
from forensics.evidence import EvidenceLog, read_records, verify
from forensics.models import Decoding, parse_spec
from forensics.probes import load_probe_sets, select_probes
from forensics.verdict import Attribution, Verdict, analyse, attribute

__all__ = [
    "Attribution", "Corpus", "Decoding", "Embedder", "EvidenceLog", "Response", "Verdict", "analyse", "attribute",
    "build_report", "collect", "load_benchmark_corpus", "load_evidence", "load_lineage", "load_probe_sets",
    "parse_spec", "read_records", "render_report", "run_lineage_benchmark", "select_probes", "verify",
]
__version__ = "0.1.0"


def __getattr__(name):
    """The report and benchmark pull in plotting and templating; load them only when asked for."""
    if name in ("build_report", "render_report"):
        from forensics import report

        return getattr(report, name)
    if name == "run_lineage_benchmark":
        from forensics.bench import run_lineage_benchmark

        return run_lineage_benchmark
    raise AttributeError(f"module 'forensics' has no attribute {name!r}")
