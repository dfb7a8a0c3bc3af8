"""The request-log schema, a provider's column mapping, and row checks that name file, row and column.

A provider's log rarely uses our column names, so a mapping file (YAML or JSON, ``{our_name:
their_name}``) renames them on read. A row that breaks the schema is counted, and the first few are
kept with their file, row and column, instead of being dropped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Our name -> what the column must hold. Every column is required unless listed in OPTIONAL.
COLUMNS: dict[str, str] = {
    "request_id": "string",
    "ts": "timestamp",
    "account_id": "string",
    "org_id": "string",
    "api_key_id": "string",
    "client_net": "string",
    "user_agent": "string",
    "model": "string",
    "endpoint": "string",
    "system": "string or null",
    "messages": "JSON list of {role, content}",
    "temperature": "number or null",
    "top_p": "number or null",
    "max_tokens": "integer or null",
    "n": "integer >= 1 or null",
    "stream": "boolean or null",
    "input_tokens": "integer or null",
    "output_tokens": "integer or null",
    "status": "integer or null",
}
REQUIRED = ("ts", "account_id", "messages")
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)
MAX_EXAMPLES = 20


class TrafficSchemaError(ValueError):
    """A log or mapping that cannot be read at all; the message names file, row (when one) and column."""

    def __init__(self, path: Path | str, column: str, problem: str, row: int | None = None):
        self.path, self.column, self.row = str(path), column, row
        where = f"{path}:row {row}" if row is not None else str(path)
        super().__init__(f"{where}: column '{column}': {problem}")


@dataclass(frozen=True)
class ColumnMapping:
    """Our column name -> the provider's; names not listed keep ours. ``source`` is the mapping file."""

    names: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def theirs(self, ours: str) -> str:
        return self.names.get(ours, ours)

    @classmethod
    def load(cls, path: Path | str | None) -> ColumnMapping:
        """Read a mapping file; a missing file, a bad format or an unknown name is one clear error."""
        if path is None:
            return cls()
        path = Path(path)
        if not path.is_file():
            raise TrafficSchemaError(path, "<mapping>", "column mapping file not found")
        try:
            raw = (
                yaml.safe_load(path.read_text(encoding="utf-8"))
                if path.suffix != ".json"
                else json.loads(path.read_text(encoding="utf-8"))
            )
        except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrafficSchemaError(path, "<mapping>", f"not YAML/JSON ({exc})") from None
        if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise TrafficSchemaError(path, "<mapping>", "expected a mapping of our column name -> your column name")
        unknown = sorted(set(raw) - set(COLUMNS))
        if unknown:
            raise TrafficSchemaError(path, unknown[0], f"not a column of the request schema ({', '.join(COLUMNS)})")
        return cls(dict(raw), str(path))

    def check_present(self, path: Path | str, present: list[str]) -> list[str]:
        """Our names of the optional columns the file lacks; a missing required column is an error."""
        have = set(present)
        for ours in REQUIRED:
            if self.theirs(ours) not in have:
                via = f" (mapped from {self.source})" if ours in self.names else ""
                raise TrafficSchemaError(path, self.theirs(ours), f"required column missing{via}")
        for ours, theirs in self.names.items():
            if theirs not in have:
                raise TrafficSchemaError(
                    path, theirs, f"named by the column mapping {self.source} for '{ours}' but not in the log"
                )
        return [c for c in OPTIONAL if self.theirs(c) not in have]


@dataclass
class BadRows:
    """Rows set aside: counted per (column, problem), with the first few named by file and row."""

    counts: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, path: str, row: int, column: str, problem: str) -> None:
        self.counts[(column, problem)] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{path}:row {row}: column '{column}': {problem}")

    def merge(self, other: BadRows) -> BadRows:
        self.counts.update(other.counts)
        self.examples.extend(other.examples[: max(0, MAX_EXAMPLES - len(self.examples))])
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "by_column": [{"column": c, "problem": p, "rows": n} for (c, p), n in sorted(self.counts.items())],
            "examples": list(self.examples),
        }
