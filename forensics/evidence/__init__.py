"""Evidence: append-only, hash-chained logs of every exchange, how they are recorded, and what they prove.

Rooms: :mod:`~forensics.evidence.records` (record kinds, lines), :mod:`~forensics.evidence.writer`
(the one writer: MACs, adoption, seals), :mod:`~forensics.evidence.verifier` (the streaming
verifier and :class:`VerifiedLog`), :mod:`~forensics.evidence.seal` (keys, signatures, MACs),
:mod:`~forensics.evidence.ledger` (heads this machine sealed), :mod:`~forensics.evidence.redaction`,
:mod:`~forensics.evidence.output` (the one output guard), :mod:`~forensics.evidence.inputs`.
The collection engine (:mod:`forensics.evidence.collection`) sits here rather than among the
providers because it writes evidence: providers stay below and never import evidence.
"""

from forensics.evidence.collection import CollectionSummary, collect, open_provider, package_versions
from forensics.evidence.importers import file_sha256, import_alpaca_eval, import_benchmark, import_hf_dataset
from forensics.evidence.inputs import PathError, check_input_file, iter_logs
from forensics.evidence.jsonl import CorpusFormatError, read_jsonl, require_field
from forensics.evidence.labels import visible
from forensics.evidence.manifest import ManifestCheck, check_manifest, export_manifest
from forensics.evidence.output import atomic_output, check_output_target, is_evidence_log, write_output_atomic
from forensics.evidence.provenance import collect_provenance, current_versions, subject_identity
from forensics.evidence.records import (
    SCHEMA,
    EvidenceError,
    Record,
    RecordError,
    canonical_json,
    parse_record,
    utc_now,
)
from forensics.evidence.redaction import RedactingStream, Redactor
from forensics.evidence.seal import (
    check_bytes,
    fingerprint,
    forensics_home,
    sign_bytes,
    signing_key,
    trusted_fingerprints,
)
from forensics.evidence.verifier import VerifiedLog, VerifyResult, read_records, seal_summary, verified_logs, verify
from forensics.evidence.writer import EvidenceLog, quarantine, repair

__all__ = [
    "SCHEMA",
    "CollectionSummary",
    "CorpusFormatError",
    "EvidenceError",
    "EvidenceLog",
    "ManifestCheck",
    "PathError",
    "Record",
    "RecordError",
    "RedactingStream",
    "Redactor",
    "VerifiedLog",
    "VerifyResult",
    "atomic_output",
    "canonical_json",
    "check_bytes",
    "check_input_file",
    "check_manifest",
    "check_output_target",
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
    "quarantine",
    "read_jsonl",
    "read_records",
    "repair",
    "require_field",
    "seal_summary",
    "sign_bytes",
    "signing_key",
    "subject_identity",
    "trusted_fingerprints",
    "utc_now",
    "verified_logs",
    "verify",
    "visible",
    "write_output_atomic",
]
