"""Line-numbered JSONL reading, for recordings made by others: a bad line names its file, line and field.

Sources are read once, streaming, with the bytes parsed fed to a hash as they are read, so the
SHA-256 an import records is the hash of exactly what it parsed; a line or a file beyond its cap
is refused with the file and line named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from forensics.evidence.inputs import check_input_file
from forensics.evidence.longlines import LONG_LINE, elide, long_values
from forensics.evidence.records import is_text, iter_lines, loads_strict

MAX_LINE_BYTES = 256 << 20  # one recorded answer
MAX_FILE_BYTES = 16 << 30  # one source file


class CorpusFormatError(ValueError):
    """A response file that cannot be read; the message names file, line and field."""

    def __init__(self, path: Path | str, line: int, field_name: str, problem: str):
        self.path, self.line, self.field = str(path), line, field_name
        super().__init__(f"{path}:{line}: field '{field_name}': {problem}")


def read_jsonl(
    path: Path,
    *,
    hasher=None,
    max_line: int = MAX_LINE_BYTES,
    max_file: int = MAX_FILE_BYTES,
    long_keys: tuple[str, ...] = (),
) -> Iterable[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line, split on ``\\n`` only (U+2028 and the
    like are characters, not line ends); bad or non-standard JSON (NaN) names its line. ``hasher``
    receives exactly the bytes read and parsed. On a very long line, the long string values of the
    top-level ``long_keys`` come as :class:`~forensics.evidence.longlines.LongText` (never decoded
    whole); every other string is decoded."""
    check_input_file(path, "JSONL file", max_bytes=max_file)
    for lineno, box in iter_lines(path, max_line=max_line, last=True, hasher=hasher, handoff=True):
        raw = box.pop()  # the only reference: freed once decoded, before the JSON is parsed
        if not raw.strip():
            continue
        try:
            elided = elide(raw) if long_keys and len(raw) > LONG_LINE else None
            if elided is not None:
                obj = loads_strict(elided.skeleton.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise CorpusFormatError(path, lineno, "<json>", "expected a JSON object")
                yield lineno, long_values(obj, elided, raw, long_keys)
                continue
            text = raw.decode("utf-8")
            del raw
            obj = loads_strict(text)
        except UnicodeDecodeError as exc:
            raise CorpusFormatError(path, lineno, "<utf-8>", f"not UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(path, lineno, "<json>", f"not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError) as exc:
            raise CorpusFormatError(path, lineno, "<json>", f"not strict JSON ({exc})") from None
        del text
        if not isinstance(obj, dict):
            raise CorpusFormatError(path, lineno, "<json>", "expected a JSON object")
        yield lineno, obj


def require_field(obj: dict, key: str, path: Path, lineno: int, kind=str):
    if key not in obj:
        raise CorpusFormatError(path, lineno, key, "missing")
    value = obj[key]
    if kind is str and is_text(value):
        return value
    if not isinstance(value, kind):
        raise CorpusFormatError(path, lineno, key, f"expected {kind.__name__}, got {type(value).__name__}")
    return value
