"""Secrets never reach a file or a stream: every key a provider used, and secret-named variables."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from forensics.providers import used_secrets

# Environment variables whose values must never reach a file or stream the toolkit writes
# (settings such as TOKENIZERS_PARALLELISM or SSH_AUTH_SOCK are not secrets).
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH)(?!.*(PARALLELISM|_SOCK|_DIR|_PATH|_FILE)$)", re.I)
# A key a provider used is redacted from this length on; below it a value is too likely to be
# an ordinary word. Variables that are only named like secrets need a key-like length.
MIN_SECRET_LEN, MIN_NAMED_LEN = 4, 8
# Fields that hold hashes, MACs and signatures: never redacted, or the chain and seals would break.
UNREDACTED = frozenset({"hash", "prev", "head", "hashes", "signature", "public_key", "key_fingerprint", "mac"})


class Redactor:
    """Replaces secrets in text: every key a provider used, and secret-named environment variables."""

    def __init__(self, extra_names: Iterable[str] = ()):
        named = {n for n in os.environ if SECRET_NAME.search(n)}
        found = {os.environ[n]: n for n in named if len(os.environ[n]) >= MIN_NAMED_LEN}
        found.update({os.environ[n]: n for n in extra_names if n in os.environ})
        found.update({value: name for name, value in used_secrets()})
        self.secrets = sorted(
            ((v, n) for v, n in found.items() if len(v) >= MIN_SECRET_LEN), key=lambda item: -len(item[0])
        )

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED:{name}]")
        return text

    def value(self, obj, key: str | None = None):
        """Redact every string inside a JSON value, except hash and signature fields."""
        if key in UNREDACTED:
            return obj
        if getattr(obj, "is_long_text", False):
            return obj.redacted(self)
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(k): self.value(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        return obj


class RedactingStream:
    """A text stream (stdout, stderr) that redacts secrets before they are shown."""

    def __init__(self, stream, redactor: Redactor | None = None):
        self._stream, self._redact = stream, redactor or Redactor()
        self._known = len(used_secrets())

    def write(self, text: str) -> int:
        self._stream.write(self._refresh()(text))
        return len(text)

    def _refresh(self) -> Redactor:
        """Keys that providers registered after the stream was wrapped count too."""
        if self._known != len(used_secrets()):
            self._redact, self._known = Redactor(), len(used_secrets())
        return self._redact

    def __getattr__(self, name):
        return getattr(self._stream, name)
