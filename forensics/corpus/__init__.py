"""The in-memory view that every analysis works on: prompts and each model's responses to them.

Evidence logs, imported recordings and benchmark folders all end up here, so signals and
statistics never care where a response came from, yet each response keeps the hash of the
evidence record behind it so that findings can cite their records.
"""

from forensics.corpus.loaders import load_benchmark_corpus, load_evidence, load_lineage
from forensics.corpus.responses import Corpus, Response
from forensics.evidence import CorpusFormatError

__all__ = ["Corpus", "CorpusFormatError", "Response", "load_benchmark_corpus", "load_evidence", "load_lineage"]
