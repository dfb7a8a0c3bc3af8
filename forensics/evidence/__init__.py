"""Evidence: append-only, hash-chained logs of every exchange, how they are recorded, and what they prove.

The collection engine (:mod:`forensics.evidence.collection`) sits here rather than among the
providers because it writes evidence: providers stay below and never import evidence.
"""

from forensics.evidence.collection import CollectionSummary, collect, open_provider, package_versions
from forensics.evidence.importers import file_sha256, import_alpaca_eval, import_benchmark, import_hf_dataset
from forensics.evidence.jsonl import CorpusFormatError, read_jsonl, require_field
from forensics.evidence.log import (
    EvidenceError,
    EvidenceLog,
    Redactor,
    VerifyResult,
    canonical_json,
    iter_logs,
    read_records,
    repair,
    utc_now,
    verify,
)
from forensics.evidence.provenance import collect_provenance, current_versions

__all__ = [
    "CollectionSummary",
    "CorpusFormatError",
    "EvidenceError",
    "EvidenceLog",
    "Redactor",
    "VerifyResult",
    "canonical_json",
    "collect",
    "collect_provenance",
    "current_versions",
    "file_sha256",
    "import_alpaca_eval",
    "import_benchmark",
    "import_hf_dataset",
    "iter_logs",
    "open_provider",
    "package_versions",
    "read_jsonl",
    "read_records",
    "repair",
    "require_field",
    "utc_now",
    "verify",
]
