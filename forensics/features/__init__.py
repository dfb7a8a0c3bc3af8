"""Per-response features: embeddings, style, refusals, identity claims, answers; and tables of them."""

from forensics.features.answer_tables import answer_table, error_consistency, shared_errors
from forensics.features.cache import Features
from forensics.features.embeddings import Embedder, default_cache_dir, get_embedder, quiet_embedder
from forensics.features.identity import IdentityClaim, claimed_identities, claimed_identity, identity_distribution
from forensics.features.refusal import RefusalDetector, evaluate_refusal_detector, refusal_features, refusal_phrase
from forensics.features.refusal_tables import (
    RefusalMatrix,
    phrase_overlap_summary,
    refusal_agreement,
    refusal_matrix,
    refusal_phrase_table,
)
from forensics.features.style import STYLE_FEATURES, shared_rare_ngrams, style_vector, word_ngrams

__all__ = [
    "STYLE_FEATURES",
    "Embedder",
    "Features",
    "IdentityClaim",
    "RefusalDetector",
    "RefusalMatrix",
    "answer_table",
    "claimed_identities",
    "claimed_identity",
    "default_cache_dir",
    "error_consistency",
    "evaluate_refusal_detector",
    "get_embedder",
    "identity_distribution",
    "phrase_overlap_summary",
    "quiet_embedder",
    "refusal_agreement",
    "refusal_features",
    "refusal_matrix",
    "refusal_phrase",
    "refusal_phrase_table",
    "shared_errors",
    "shared_rare_ngrams",
    "style_vector",
    "word_ngrams",
]
