"""Model providers: thin adapters, one API each.

Retries, rate limits, resuming and evidence recording live once, above every provider, in
:mod:`forensics.evidence.collection`.
"""

from forensics.providers.base import (
    PROVIDERS,
    Decoding,
    ModelAPI,
    ModelSpec,
    PermanentError,
    Reply,
    TransientError,
    parse_spec,
    used_secrets,
)
from forensics.providers.llama_cpp import gemma3_gguf, llama_server, smollm2_gguf
from forensics.providers.registry import make_provider, reply_parser

__all__ = [
    "PROVIDERS",
    "Decoding",
    "ModelAPI",
    "ModelSpec",
    "PermanentError",
    "Reply",
    "TransientError",
    "gemma3_gguf",
    "llama_server",
    "make_provider",
    "parse_spec",
    "reply_parser",
    "smollm2_gguf",
    "used_secrets",
]
