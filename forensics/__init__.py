"""Distillation-fingerprint forensics: was this suspect model distilled from that reference?"""
from forensics.corpus import Corpus, Response, load_benchmark_corpus, load_lineage

__all__ = ["Corpus", "Response", "load_benchmark_corpus", "load_lineage"]
__version__ = "0.1.0"
