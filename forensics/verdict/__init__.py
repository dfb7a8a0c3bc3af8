"""Verdicts: same model, distilled, or no evidence, with their strength, findings and caveats."""

from forensics.verdict.attribution import Answer, Attribution, CandidateResult, attribute, rank_candidates
from forensics.verdict.design import vendor_of
from forensics.verdict.engine import (
    DISTILLED,
    NO_EVIDENCE,
    SAME_MODEL,
    Finding,
    Verdict,
    analyse,
    replicate_check,
    same_model_check,
    strength_words,
)
from forensics.verdict.format import fmt_num, fmt_p
from forensics.verdict.settings import AnalysisSettings, EngineParams, shipped_params
from forensics.verdict.summaries import caveats, findings_table, replicate_line, verdict_line
from forensics.verdict.types import ConfidenceInterval, Label, SameModelCheck

__all__ = [
    "AnalysisSettings",
    "Answer",
    "EngineParams",
    "rank_candidates",
    "shipped_params",
    "vendor_of",
    "DISTILLED",
    "NO_EVIDENCE",
    "SAME_MODEL",
    "Attribution",
    "CandidateResult",
    "ConfidenceInterval",
    "Label",
    "SameModelCheck",
    "Finding",
    "Verdict",
    "analyse",
    "attribute",
    "caveats",
    "findings_table",
    "fmt_num",
    "fmt_p",
    "replicate_check",
    "replicate_line",
    "same_model_check",
    "strength_words",
    "verdict_line",
]
