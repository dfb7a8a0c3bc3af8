"""Probe sets: loading, validating, selecting and counting the prompts sent to every model.

Probe sets are hand-edited YAML files (format in ``probe_sets/README.md``; the curated sets live in the
checkout's top-level ``probe_sets/``, which the wheel ships as ``forensics/probe_sets/``). A broken set would
silently skew every downstream statistic, so loading validates each file against a JSON Schema
plus a few semantic rules and reports every problem at its YAML source line. Each set carries a
content version (SHA-256 of its canonical JSON) so evidence can pin exactly which prompts were sent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import jsonschema
import yaml

from forensics.probes.answers import AnswerKey, normalise

FAMILIES = ("identity", "refusal", "over_refusal", "error_trap", "style", "multilingual")
ROLES = ("system", "user", "assistant")
_PACKAGE = Path(__file__).resolve().parents[1]
# The curated sets: the checkout's probe_sets/ (a checkout or an editable install), else the wheel's copy.
DEFAULT_DIR = (_PACKAGE.parent if (_PACKAGE.parent / "pyproject.toml").is_file() else _PACKAGE) / "probe_sets"

PROBE_SET_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "forensics probe set",
    "type": "object",
    "required": ["name", "probes"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},  # free space for YAML anchors shared by several probes
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9._-]+$"},
        "description": {"type": "string"},
        "probes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/probe"}},
    },
    "$defs": {
        "probe": {
            "type": "object",
            "required": ["id", "family", "language"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": r"^[a-z0-9._-]+$"},
                "family": {"enum": list(FAMILIES)},
                "prompt": {"type": "string"},
                "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/message"}},
                "language": {"type": "string", "pattern": r"^[a-z]{2}$"},
                "tags": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": r"^[a-z0-9._-]+$"},
                },
                "answer": {"$ref": "#/$defs/answer"},
            },
        },
        "message": {
            "type": "object",
            "required": ["role", "content"],
            "additionalProperties": False,
            "properties": {"role": {"enum": list(ROLES)}, "content": {"type": "string"}},
        },
        "answer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "accept": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "regex": {"type": "string", "minLength": 1},
                "number": {"type": "number"},
                "tolerance": {"type": "number", "minimum": 0},
            },
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(PROBE_SET_SCHEMA)


class ProbeSetError(ValueError):
    """A probe-set file that cannot be used; the message names file, line (1-based) and field."""

    def __init__(self, path: Path | str, line: int, field: str, message: str):
        self.path, self.line, self.field = str(path), line, field
        super().__init__(f"{path}:{line}: field '{field}': {message}")


@dataclass(frozen=True)
class Probe:
    """One prompt (or short conversation) sent to every model; ``source_line`` points into its YAML."""

    id: str
    family: str
    messages: tuple[dict, ...]
    language: str
    tags: tuple[str, ...]
    answer: AnswerKey | None
    source_line: int

    def __hash__(self) -> int:  # the generated hash would fail on the message dicts
        return hash((self.id, self.source_line))

    @property
    def prompt(self) -> str:
        """The last user message text."""
        return next(m["content"] for m in reversed(self.messages) if m["role"] == "user")

    def to_dict(self) -> dict:
        """Canonical content (no source line), the unit the set version hashes."""
        return {
            "id": self.id,
            "family": self.family,
            "messages": [dict(m) for m in self.messages],
            "language": self.language,
            "tags": list(self.tags),
            "answer": self.answer.to_dict() if self.answer else None,
        }


@dataclass(frozen=True)
class ProbeSet:
    """One validated probe-set file; ``version`` changes exactly when its probes' content does."""

    name: str
    path: Path
    version: str
    probes: tuple[Probe, ...]


def _field(parts: Iterable) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _locate(root: yaml.Node, parts: Iterable) -> yaml.Node:
    """The YAML node at a data path, or the deepest existing ancestor (so a missing field points at its parent)."""
    node = root
    for part in parts:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_keys(path: Path, node: yaml.Node, parts: tuple = ()) -> None:
    """PyYAML silently keeps the last of two equal keys; a hand-edited probe set must not."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if not (isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:str"):
                raise ProbeSetError(path, _line(key), _field(parts), "mapping keys must be plain strings")
            if key.value in seen:
                raise ProbeSetError(
                    path,
                    _line(key),
                    _field(parts + (key.value,)),
                    f"duplicate key (first given at line {seen[key.value]})",
                )
            seen[key.value] = _line(key)
            _check_keys(path, value, parts + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_keys(path, item, parts + (index,))


MAX_PROBE_FILE_BYTES = 64 << 20


def _parse(path: Path) -> tuple[yaml.Node, dict]:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read, /dev/zero would never end
            raise ProbeSetError(path, 1, "<file>", "not a regular file (a folder, FIFO, device or socket)")
        if st.st_size > MAX_PROBE_FILE_BYTES:
            raise ProbeSetError(path, 1, "<file>", f"{st.st_size:,} bytes, more than a probe set may hold")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProbeSetError(path, 1, "<file>", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ProbeSetError(path, 1, "<file>", f"cannot be read ({exc.strerror})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ProbeSetError(path, 1, "<root>", "file is empty")
        _check_keys(path, root)
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        # A scanner error's context is where the bad token started (e.g. an unclosed quote), which
        # is the line to fix; a parser error's problem mark is where the structure went wrong.
        marks = (exc.context_mark, exc.problem_mark) if isinstance(exc, yaml.scanner.ScannerError) else ()
        mark = next((m for m in (*marks, exc.problem_mark, exc.context_mark) if m), None)
        problem = ": ".join(filter(None, (exc.context, exc.problem))) or str(exc)
        raise ProbeSetError(path, mark.line + 1 if mark else 1, "<yaml>", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ProbeSetError(path, 1, "<yaml>", f"YAML error: {exc}") from None
    finally:
        loader.dispose()


_SCHEMA_KINDS = {"array": "a list", "string": "a string", "object": "a mapping", "number": "a number"}
_YAML_KINDS = {
    "list": "a list",
    "str": "a string",
    "dict": "a mapping",
    "int": "a number",
    "float": "a number",
    "bool": "a boolean",
    "NoneType": "nothing (null)",
}


def _describe(root: yaml.Node, error: jsonschema.ValidationError) -> tuple[int, str, str]:
    """(line, field, message) for one schema violation, worded for someone editing YAML."""
    parts = list(error.absolute_path)
    node = _locate(root, parts)
    kind, value = error.validator, error.instance
    if kind == "required":
        missing = next(k for k in error.validator_value if k not in value)
        return _line(node), _field(parts + [missing]), "required field is missing"
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        key = next(
            k for k, _ in node.value if k.value not in allowed and not any(re.search(p, k.value) for p in patterns)
        )
        return _line(key), _field(parts + [key.value]), f"unknown field (allowed: {', '.join(allowed)})"
    if kind == "type":
        got = _YAML_KINDS.get(type(value).__name__, type(value).__name__)
        shown = f" {value!r}" if isinstance(value, (str, int, float)) else ""
        message = f"expected {_SCHEMA_KINDS[error.validator_value]}, got {got}{shown}"
    elif kind == "enum":
        what = parts[-1] if parts and isinstance(parts[-1], str) else "value"
        message = f"unknown {what} {value!r} (expected one of: {', '.join(error.validator_value)})"
    elif kind == "pattern":
        message = f"{value!r} does not match {error.validator_value}"
    elif kind in ("minItems", "minLength"):
        message = "must not be empty"
    elif kind == "uniqueItems":
        message = "has duplicate entries"
    else:
        message = error.message
    return _line(node), _field(parts), message


def _answer_key(raw: dict, fail: Callable[[list, str], NoReturn]) -> AnswerKey:
    if not any(k in raw for k in ("accept", "regex", "number")):
        fail(["answer"], "give at least one of accept, regex, number")
    if "tolerance" in raw and "number" not in raw:
        fail(["answer", "tolerance"], "tolerance only applies together with number")
    accept = tuple(term.strip() for term in raw.get("accept", ()))
    for index, term in enumerate(accept):
        if not normalise(term):
            fail(["answer", "accept", index], "has no text left after normalisation")
    regex = raw.get("regex")
    if regex is not None:
        try:
            compiled = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            fail(["answer", "regex"], f"invalid regex: {exc}")
        if compiled.search(""):
            fail(["answer", "regex"], "matches the empty string, so it would accept any response")
    number = raw.get("number")
    if number is not None and not math.isfinite(number):
        fail(["answer", "number"], "must be a finite number")
    return AnswerKey(accept, regex, None if number is None else float(number), float(raw.get("tolerance", 0.0)))


def _probe(path: Path, root: yaml.Node, index: int, raw: dict) -> Probe:
    def fail(parts: list, message: str) -> NoReturn:
        parts = ["probes", index, *parts]
        raise ProbeSetError(path, _line(_locate(root, parts)), _field(parts), message)

    if "prompt" in raw and "messages" in raw:
        fail(["messages"], "give either prompt or messages, not both")
    if "prompt" in raw:
        if not raw["prompt"].strip():
            fail(["prompt"], "must not be empty")
        messages = ({"role": "user", "content": raw["prompt"].strip()},)
    elif "messages" in raw:
        for turn, message in enumerate(raw["messages"]):
            if not message["content"].strip():
                fail(["messages", turn, "content"], "must not be empty")
        if raw["messages"][-1]["role"] != "user":
            fail(["messages", len(raw["messages"]) - 1, "role"], "the last message must be a user turn")
        messages = tuple({"role": m["role"], "content": m["content"].strip()} for m in raw["messages"])
    else:
        fail(["prompt"], "required field is missing (give prompt or messages)")
    answer = _answer_key(raw["answer"], fail) if "answer" in raw else None
    if raw["family"] == "error_trap" and answer is None:
        fail(["answer"], "required for family error_trap")
    return Probe(
        raw["id"],
        raw["family"],
        messages,
        raw["language"],
        tuple(raw.get("tags", ())),
        answer,
        _line(_locate(root, ["probes", index])),
    )


def _version(probes: Iterable[Probe]) -> str:
    """SHA-256 of the canonical JSON of the parsed probes, sorted by id: formatting, comments, key
    order and probe order do not change it; any change to what is sent or scored does."""
    canonical = sorted((p.to_dict() for p in probes), key=lambda d: d["id"])
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_probe_set(path: Path | str) -> ProbeSet:
    """Read and validate one probe-set file; any problem raises ProbeSetError at its source line."""
    path = Path(path)
    root, data = _parse(path)
    # A misspelt key also trips "required" for the intended one; the misspelling is the thing to fix.
    errors = sorted((e.validator == "required", *_describe(root, e)) for e in _VALIDATOR.iter_errors(data))
    if errors:
        raise ProbeSetError(path, *errors[0][1:])
    probes, seen = [], {}
    for index, raw in enumerate(data["probes"]):
        probe = _probe(path, root, index, raw)
        if probe.id in seen:
            raise ProbeSetError(
                path,
                _line(_locate(root, ["probes", index, "id"])),
                f"probes[{index}].id",
                f"duplicate id {probe.id!r} (first defined at line {seen[probe.id]})",
            )
        seen[probe.id] = probe.source_line
        probes.append(probe)
    return ProbeSet(data["name"], path, _version(probes), tuple(probes))


def _expand(paths: list | str | Path | None) -> list[Path]:
    """Probe-set files named by ``paths``: files as given, directories as their sorted *.yaml."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths or [DEFAULT_DIR])
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(entry.glob("*.yaml"))
            if not found:
                raise FileNotFoundError(f"no *.yaml probe-set files in {entry}")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        elif entry.exists():
            raise FileNotFoundError(f"{entry}: not a regular file (a FIFO, device or socket), not a probe set")
        else:
            raise FileNotFoundError(f"no such probe-set file or directory: {entry}")
    unique = {f.resolve(): f for f in files}
    return list(unique.values())


def _check_cross(probe_set: ProbeSet, seen: dict[str, tuple[Path, int]]) -> None:
    """Ids must be unique across sets too: evidence and corpora key responses by probe id alone."""
    for index, probe in enumerate(probe_set.probes):
        if probe.id in seen:
            where = "{}:{}".format(*seen[probe.id])
            raise ProbeSetError(
                probe_set.path,
                probe.source_line,
                f"probes[{index}].id",
                f"duplicate id {probe.id!r} (already defined at {where})",
            )
    seen.update((p.id, (probe_set.path, p.source_line)) for p in probe_set.probes)


def load_probe_sets(paths: list | str | Path | None = None) -> list[ProbeSet]:
    """Load several sets (None or empty: the curated sets), rejecting ids repeated across sets."""
    sets: list[ProbeSet] = []
    seen: dict[str, tuple[Path, int]] = {}
    for path in _expand(paths):
        probe_set = load_probe_set(path)
        _check_cross(probe_set, seen)
        sets.append(probe_set)
    return sets


def select_probes(
    sets: Iterable[ProbeSet], families: Iterable[str] | None = None, per_family: int | None = None
) -> list[ProbeSet]:
    """Only the named families, and at most the first ``per_family`` probes of each family in
    each set, so a small run still covers every family. Versions stay those of the full sets:
    a record names the set its probe belongs to."""
    wanted = set(families) if families else None
    cap = per_family or float("inf")
    out = []
    for pset in sets:
        taken: dict[str, int] = {}
        keep = []
        for probe in pset.probes:
            if (wanted is not None and probe.family not in wanted) or taken.get(probe.family, 0) >= cap:
                continue
            keep.append(probe)
            taken[probe.family] = taken.get(probe.family, 0) + 1
        if keep:
            out.append(replace(pset, probes=tuple(keep)))
    return out


def probe_set_stats(sets: Iterable[ProbeSet]) -> dict:
    """Counts per family, per language and per family x language, answerable count, total, set versions."""
    sets = list(sets)
    probes = [p for s in sets for p in s.probes]
    families = Counter(p.family for p in probes)
    languages = Counter(p.language for p in probes)
    return {
        "total": len(probes),
        "answerable": sum(p.answer is not None for p in probes),
        "by_family": {f: families[f] for f in FAMILIES if families[f]},
        "by_language": dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_family_language": {
            f: dict(sorted(Counter(p.language for p in probes if p.family == f).items()))
            for f in FAMILIES
            if families[f]
        },
        "sets": [{"name": s.name, "path": str(s.path), "probes": len(s.probes), "version": s.version} for s in sets],
    }


def check_probe_sets(paths: list | str | Path | None = None) -> list[tuple[Path, ProbeSet | ProbeSetError]]:
    """Every file with its set or its first problem (not just up to the first bad file), so one
    run lists every broken set; cross-set id clashes count as problems too."""
    results: list[tuple[Path, ProbeSet | ProbeSetError]] = []
    seen: dict[str, tuple[Path, int]] = {}
    for path in _expand(paths):
        try:
            probe_set = load_probe_set(path)
            _check_cross(probe_set, seen)
        except ProbeSetError as exc:
            results.append((path, exc))
            continue
        results.append((path, probe_set))
    return results
