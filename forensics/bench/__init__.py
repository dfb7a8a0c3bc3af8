"""The lineage benchmark on real models, and its tables for people."""

from forensics.bench.lineage import (
    CorpusResult,
    MethodResult,
    PairResult,
    auc_score,
    format_results,
    lineage_pairs,
    run_lineage_benchmark,
)
from forensics.bench.tables import (
    BENCH_ROLES,
    benchmark_available,
    embed_benchmark,
    pair_table,
    roc_data,
    sample_efficiency,
)

__all__ = [
    "CorpusResult",
    "MethodResult",
    "PairResult",
    "BENCH_ROLES",
    "auc_score",
    "benchmark_available",
    "embed_benchmark",
    "format_results",
    "lineage_pairs",
    "pair_table",
    "roc_data",
    "run_lineage_benchmark",
    "sample_efficiency",
]
