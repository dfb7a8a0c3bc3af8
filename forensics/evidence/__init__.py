"""Evidence: append-only, hash-chained logs of every exchange, how they are recorded, and what they prove.

The collection engine (:mod:`forensics.evidence.collection`) sits here rather than among the
providers because it writes evidence: providers stay below and never import evidence.
"""

from forensics.evidence.collection import CollectionSummary, collect, open_provider, package_versions
from forensics.evidence.importers import file_sha256, import_alpaca_eval, import_benchmark, import_hf_dataset
from forensics.evidence.jsonl import CorpusFormatError, read_jsonl, require_field
from forensics.evidence.log import (
    EvidenceLog,
    RedactingStream,
    Redactor,
    VerifyResult,
    check_output_file,
    is_evidence_log,
    iter_logs,
    read_records,
    repair,
    seal_summary,
    utc_now,
    verify,
)
from forensics.evidence.manifest import check_manifest, export_manifest
from forensics.evidence.provenance import collect_provenance, current_versions, subject_identity
from forensics.evidence.records import (
    SCHEMA,
    EvidenceError,
    Record,
    RecordError,
    canonical_json,
    parse_record,
)
from forensics.evidence.seal import fingerprint, forensics_home, signing_key, trusted_fingerprints

__all__ = [
    "subject_identity",
    "SCHEMA",
    "CollectionSummary",
    "CorpusFormatError",
    "EvidenceError",
    "EvidenceLog",
    "Record",
    "RecordError",
    "RedactingStream",
    "Redactor",
    "VerifyResult",
    "canonical_json",
    "check_manifest",
    "check_output_file",
    "collect",
    "collect_provenance",
    "current_versions",
    "export_manifest",
    "file_sha256",
    "fingerprint",
    "forensics_home",
    "import_alpaca_eval",
    "import_benchmark",
    "import_hf_dataset",
    "is_evidence_log",
    "iter_logs",
    "open_provider",
    "package_versions",
    "parse_record",
    "read_jsonl",
    "read_records",
    "repair",
    "require_field",
    "seal_summary",
    "signing_key",
    "trusted_fingerprints",
    "utc_now",
    "verify",
]
