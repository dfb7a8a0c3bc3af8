"""The collection engine: probes in, evidence out.

It sits once above every provider and owns what providers must not: bounded concurrency, a
rate limit, retries with backoff, progress, resuming, and writing every exchange (failures
included) to the evidence log as soon as it happens, so a crash loses nothing collected.
It lives in the evidence layer, not among the providers, because it writes evidence and the
layers only import downwards (providers never import evidence).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

with warnings.catch_warnings():  # in a Jupyter kernel without ipywidgets tqdm.auto warns, then uses text bars
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm

from forensics.evidence.importers import file_sha256, folder_sha256
from forensics.evidence.inputs import PathError
from forensics.evidence.labels import visible
from forensics.evidence.records import (
    ErrorRecord,
    RecordError,
    ResponseRecord,
    RunEndRecord,
    RunRecord,
    canonical_json,
    normalise_numbers,
    utc_now,
)
from forensics.evidence.seal import signing_key
from forensics.evidence.verifier import read_records
from forensics.evidence.writer import EvidenceLog, check_log_target
from forensics.probes import Probe, ProbeSet
from forensics.providers import (
    Decoding,
    ModelAPI,
    ModelSpec,
    PermanentError,
    TransientError,
    make_provider,
    parse_spec,
)

TRACKED_PACKAGES = (
    "distillation-forensics",
    "numpy",
    "scipy",
    "scikit-learn",
    "sentence-transformers",
    "torch",
    "openai",
    "anthropic",
    "llama-cpp-python",
    "datasets",
    "jinja2",
)


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def probe_key(probe: Probe) -> str:
    """Identity of a probe's content, so that editing one probe re-collects only that probe."""
    return hashlib.sha256(canonical_json([probe.id, list(probe.messages)]).encode()).hexdigest()


def task_key(model_id: str, label: str, probe_digest: str, sample_index: int, decoding: Decoding) -> str:
    return canonical_json([model_id, label, probe_digest, sample_index, decoding.fingerprint()])


class RateLimiter:
    """Spaces request starts at least 1/rate seconds apart, across threads."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


# Outcomes that end a (probe, sample) for good: a rerun does not send it again.
FINAL_OUTCOMES = ("empty", "unusable_reply")
# Longest reply text kept; longer text is cut there and its full size and hash recorded.
MAX_REPLY_CHARS = 1_000_000


def open_provider(spec: ModelSpec | str, key_env: str | None = None) -> ModelAPI:
    """The adapter for ``spec``; a ``replay`` spec serves the records of its (verified) log. A model
    path that does not exist, or a model that cannot be loaded, is one line naming it."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.provider == "hf" and spec.name.startswith(("/", ".", "~")) and not Path(spec.name).expanduser().exists():
        raise PathError(f"{spec.name}: no such model folder or file (hf:{spec.name})")
    records = read_records(Path(spec.base_url)) if spec.provider == "replay" else None
    try:
        return make_provider(spec, records, key_env=key_env)
    except PermanentError as exc:
        raise ValueError(f"model '{spec}': {exc}") from None
    except OSError as exc:
        raise ValueError(f"model '{spec}': cannot be loaded ({exc})") from None


def _split(api: ModelAPI, request: dict) -> tuple[dict, dict]:
    """What is sent and what was requested but not sent (adapters without the notion send everything)."""
    split = getattr(api, "split_request", None)
    return split(request) if split else (request, {})


def _escaped(raw) -> str | None:
    """A raw reply that cannot be stored as it is (lone surrogates, absurd depth), as ASCII JSON text."""
    try:
        return json.dumps(raw, ensure_ascii=True, allow_nan=True)[:20000] if not isinstance(raw, str) else raw[:20000]
    except (RecursionError, ValueError, TypeError):
        return None


def _cap(text: str, raw, limit: int) -> tuple[str, object, dict | None]:
    """Cut an over-long reply to ``limit`` characters; the raw copy is dropped, its size and hash kept."""
    if len(text) <= limit:
        return text, raw, None
    full = text.encode("utf-8", "surrogatepass")
    return (
        text[:limit],
        None,
        {"limit_chars": limit, "original_chars": len(text), "original_sha256": hashlib.sha256(full).hexdigest()},
    )


def send_within(api: ModelAPI, body: dict, timeout: float) -> dict:
    """``api.send`` under a total deadline of ``timeout`` seconds for the whole request: a server that
    drips bytes (each read within a per-read timeout) cannot stall a run. The late request is left
    to its daemon thread, and its reply, if it ever comes, is not used."""
    box: dict = {}

    def work():
        try:
            box["raw"] = api.send(body, timeout)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread as it is
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name="forensics-request")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TransientError("timeout", f"no complete reply within the {timeout:g} s deadline for the whole request")
    if "error" in box:
        raise box["error"]
    return box["raw"]


@dataclass
class CollectionSummary:
    log: str
    run_id: str
    planned: int
    already_done: int
    succeeded: int = 0
    failed: int = 0
    empty: int = 0
    error_records: int = 0
    wall_s: float = 0.0
    head: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def requests_per_s(self) -> float:
        return (self.succeeded + self.failed) / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True)
class Settings:
    """How requests are sent: retries, deadline, backoff, reply cap, concurrency, rate."""

    concurrency: int = 1
    rate_limit: float | None = None
    max_attempts: int = 4
    timeout: float = 120.0
    backoff: float = 1.0
    backoff_max: float = 30.0
    max_reply_chars: int = MAX_REPLY_CHARS


@dataclass
class RunContext:
    """Everything one collection run shares between its requests (no closures)."""

    spec: ModelSpec
    api: ModelAPI
    log: EvidenceLog
    decoding: Decoding
    label: str
    run_id: str
    settings: Settings
    summary: CollectionSummary
    weights_sha256: str | None = None
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    unreachable: threading.Event = field(default_factory=threading.Event)
    response_ids: dict[str, str] = field(default_factory=dict)
    ids_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Task:
    probe_set: ProbeSet
    probe: Probe
    digest: str
    sample_index: int


def completed_keys(records: Iterable[dict]) -> set[str]:
    """Keys of the exchanges that already succeeded (or ended for good); errors don't count as done."""
    done = set()
    for rec in records:
        error = rec.get("error") or {}
        if rec["kind"] == "response" or (error.get("final") and error.get("kind") in FINAL_OUTCOMES):
            done.add(
                task_key(
                    rec["model"], rec["label"], rec["probe_digest"], rec["sample_index"], Decoding(**rec["decoding"])
                )
            )
    return done


def plan(probe_sets: list[ProbeSet], spec: ModelSpec, label: str, decoding: Decoding, done: set[str]) -> list[Task]:
    """Every (probe, sample) not yet answered, in probe-set order."""
    tasks = []
    for pset in probe_sets:
        for probe in pset.probes:
            digest = probe_key(probe)
            for s in range(decoding.samples):
                if task_key(spec.id, label, digest, s, decoding) not in done:
                    tasks.append(Task(pset, probe, digest, s))
    return tasks


def _base_fields(ctx: RunContext, task: Task) -> dict:
    probe = task.probe
    base = {
        "run_id": ctx.run_id,
        "model": ctx.spec.id,
        "label": ctx.label,
        "endpoint": ctx.spec.base_url,
        "provider": ctx.spec.provider,
        "probe_id": probe.id,
        "probe_digest": task.digest,
        "probe_set": task.probe_set.name,
        "probe_set_version": task.probe_set.version,
        "probe": {
            "family": probe.family,
            "language": probe.language,
            "tags": list(probe.tags),
            "answer": probe.answer.to_dict() if probe.answer else None,
        },
        "messages": list(probe.messages),
        "prompt": probe.prompt,
        "sample_index": task.sample_index,
        "decoding": ctx.decoding.fingerprint(),
    }
    if ctx.weights_sha256:
        base["weights_sha256"] = ctx.weights_sha256
    return base


def record_error(ctx: RunContext, fields: dict, exc: TransientError | PermanentError, attempt: int, raw) -> None:
    """An error record for one failed attempt; a raw reply that cannot be stored is kept escaped."""
    final = isinstance(exc, PermanentError) or attempt >= ctx.settings.max_attempts
    error = {"kind": exc.kind, "message": str(exc)[:2000], "status": exc.status, "final": final}
    try:
        ctx.log.append(ErrorRecord({**fields, "error": {**error, "raw": raw}}))
    except (UnicodeEncodeError, ValueError, RecursionError, TypeError, RecordError):
        ctx.log.append(ErrorRecord({**fields, "error": {**error, "raw": _escaped(raw), "raw_escaped": True}}))
    ctx.summary.error_records += 1


def _duplicate_id(ctx: RunContext, raw, where: str) -> dict | None:
    """The reply's own id (``id`` of OpenAI/Anthropic replies), if an earlier reply in this log had it."""
    rid = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(rid, str) or not rid:
        return None
    with ctx.ids_lock:
        first = ctx.response_ids.setdefault(rid, where)
    return None if first == where else {"id": rid, "first_seen": first}


def attempt_once(ctx: RunContext, task: Task, base: dict, sent: dict, body: dict, attempt: int) -> None:
    """Send one attempt and record its outcome; raises the error that decides whether to retry."""
    if ctx.unreachable.is_set():
        raise PermanentError("not_sent", f"not sent: {ctx.spec.base_url} could not be reached")
    ctx.limiter.wait()
    t0, sent_at, raw = time.monotonic(), utc_now(), None

    def fields() -> dict:
        return {
            **base,
            "attempt": attempt,
            "request": sent,
            "sent_at": sent_at,
            "latency_s": round(time.monotonic() - t0, 4),
        }

    try:
        raw, normalised = normalise_numbers(send_within(ctx.api, body, ctx.settings.timeout))
        reply = ctx.api.parse(raw)
        if reply.text is not None and not isinstance(reply.text, str):
            raise PermanentError("unusable_reply", f"reply content is {type(reply.text).__name__}, not text")
        if reply.text is None or not reply.text.strip():
            raise TransientError("empty", "reply has no content (empty or null)")
    except (TransientError, PermanentError) as exc:
        if exc.kind == "unreachable":
            ctx.unreachable.set()
        record_error(ctx, fields(), exc, attempt, exc.raw if exc.raw is not None else raw)
        raise
    text, kept_raw, capped = _cap(reply.text, raw, ctx.settings.max_reply_chars)
    response = {
        "text": text,
        "raw": kept_raw,
        "model_reported": reply.model_reported,
        "finish_reason": reply.finish_reason,
    }
    extra = {"normalised": normalised} if normalised else {}
    if capped:
        extra["capped"] = capped
    duplicate = _duplicate_id(ctx, raw, f"{task.probe.id}#{task.sample_index}")
    if duplicate:
        extra["duplicate_response_id"] = duplicate
    try:
        ctx.log.append(ResponseRecord({**base, **extra, **fields(), "response": response, "usage": reply.usage}))
    except (UnicodeEncodeError, ValueError, RecursionError, TypeError, RecordError) as exc:
        bad = PermanentError(
            "unusable_reply",
            f"reply cannot be stored as strict UTF-8 JSON ({type(exc).__name__}: {str(exc)[:200]})",
        )
        record_error(ctx, fields(), bad, attempt, raw)
        raise bad from None


def run_task(ctx: RunContext, task: Task) -> tuple[str, str]:
    """One (probe, sample): attempts with backoff until success or a final error; every attempt recorded."""
    base = _base_fields(ctx, task)
    body, not_sent = _split(ctx.api, ctx.api.build_request(list(task.probe.messages), ctx.decoding, task.sample_index))
    sent = {
        "method": "POST",
        "endpoint": getattr(ctx.api, "endpoint", ""),
        "base_url": ctx.spec.base_url,
        "body": body,
        "requested_not_sent": not_sent,
    }
    settings = ctx.settings
    retrying = Retrying(
        stop=stop_after_attempt(settings.max_attempts),
        reraise=True,
        wait=wait_exponential_jitter(multiplier=settings.backoff, max=settings.backoff_max, jitter=settings.backoff),
        retry=retry_if_exception_type(TransientError),
    )
    try:
        for attempt in retrying:
            with attempt:
                attempt_once(ctx, task, base, sent, body, attempt.retry_state.attempt_number)
        return "ok", task.probe.id
    except (TransientError, PermanentError) as exc:
        outcome = "empty" if exc.kind == "empty" else "failed"
        return outcome, f"{task.probe.id}#{task.sample_index}: {exc}"


def _run_record(ctx: RunContext, probe_sets: list[ProbeSet], command: list[str] | None) -> RunRecord:
    settings = ctx.settings
    _, not_sent = _split(ctx.api, ctx.api.build_request([{"role": "user", "content": ""}], ctx.decoding, 0))
    return RunRecord(
        {
            "run_id": ctx.run_id,
            "model": ctx.spec.id,
            "label": ctx.label,
            "endpoint": ctx.spec.base_url,
            "provider": ctx.spec.provider,
            "decoding": ctx.decoding.fingerprint(),
            "requested_not_sent": not_sent,
            "weights_sha256": ctx.weights_sha256,
            "max_reply_chars": settings.max_reply_chars,
            "samples": ctx.decoding.samples,
            "probe_sets": [
                {"name": p.name, "version": p.version, "path": str(p.path), "probes": len(p.probes)} for p in probe_sets
            ],
            "planned": ctx.summary.planned,
            "already_done": ctx.summary.already_done,
            "concurrency": settings.concurrency,
            "rate_limit": settings.rate_limit,
            "max_attempts": settings.max_attempts,
            "timeout_s": settings.timeout,
            "versions": package_versions(),
            "command": command,
            "torn_tail_set_aside": str(ctx.log.torn_bytes_saved_to) if ctx.log.torn_bytes_saved_to else None,
            "adopted_unsealed": ctx.log.adopted,
        }
    )


def collect(
    model: str | ModelSpec,
    probe_sets: Iterable[ProbeSet],
    log_path: Path | str,
    decoding: Decoding = Decoding(),
    *,
    label: str | None = None,
    concurrency: int = 1,
    rate_limit: float | None = None,
    max_attempts: int = 4,
    timeout: float = 120.0,
    backoff: float = 1.0,
    backoff_max: float = 30.0,
    progress: bool = True,
    command: list[str] | None = None,
    provider: ModelAPI | None = None,
    key_env: str | None = None,
    weights_sha256: str | None = None,
    max_reply_chars: int = MAX_REPLY_CHARS,
    accept_key_change: bool = False,
) -> CollectionSummary:
    """Send every (probe, sample) not yet answered in ``log_path`` and record each exchange.

    The log is opened (locked, key loaded, tail checked) before anything is sent. A rerun after a
    crash or kill repairs the log's torn tail, adopts and seals the unsealed records this key wrote,
    skips what already succeeded (or ended for good: empty after every retry, or unusable), and
    retries only the rest. ``timeout`` is a deadline for each whole request. A reply that cannot be
    stored, or whose content is not text, becomes an error record and the run goes on; a host that
    cannot be reached stops the run at once. The run ends with a seal.
    ``weights_sha256`` names the weights of a model the toolkit serves itself (a local server
    only echoes the name it was given).
    """
    spec = parse_spec(model) if isinstance(model, str) else model
    check_log_target(log_path)
    signing_key()  # a missing home or a corrupt key fails here, before any model is loaded or asked
    api = provider or open_provider(spec, key_env)
    log = EvidenceLog(log_path, accept_key_change=accept_key_change)
    try:
        local = Path(spec.name)
        if spec.provider == "hf" and weights_sha256 is None and local.exists():
            weights_sha256 = folder_sha256(local) if local.is_dir() else file_sha256(local)
        label = label or spec.id
        probe_sets = list(probe_sets)
        tasks = plan(probe_sets, spec, label, decoding, completed_keys(log.records))
        run_id = uuid.uuid4().hex
        summary = CollectionSummary(
            str(log_path),
            run_id,
            planned=len(tasks),
            already_done=sum(len(p.probes) for p in probe_sets) * decoding.samples - len(tasks),
        )
        settings = Settings(
            concurrency=concurrency,
            rate_limit=rate_limit,
            max_attempts=max_attempts,
            timeout=timeout,
            backoff=backoff,
            backoff_max=backoff_max,
            max_reply_chars=max_reply_chars,
        )
        ctx = RunContext(
            spec=spec,
            api=api,
            log=log,
            decoding=decoding,
            label=label,
            run_id=run_id,
            settings=settings,
            summary=summary,
            weights_sha256=weights_sha256,
            limiter=RateLimiter(rate_limit),
        )
        for rec in log.records:  # reply ids already in the log, for the duplicate-id note
            if rec["kind"] == "response":
                _duplicate_id(ctx, rec["response"].get("raw"), f"{rec['probe_id']}#{rec['sample_index']}")
        log.append(_run_record(ctx, probe_sets, command))
        started = time.monotonic()
        bar = tqdm(total=len(tasks), desc=f"collect {visible(label)}", unit="req", disable=not progress)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for fut in as_completed([pool.submit(run_task, ctx, t) for t in tasks]):
                outcome, info = fut.result()
                if outcome == "ok":
                    summary.succeeded += 1
                elif outcome == "empty":
                    summary.empty += 1
                else:
                    summary.failed += 1
                    summary.failures.append(info)
                bar.update(1)
        bar.close()
        summary.wall_s = time.monotonic() - started
        log.append(
            RunEndRecord(
                {
                    "run_id": run_id,
                    "succeeded": summary.succeeded,
                    "failed": summary.failed,
                    "empty": summary.empty,
                    "error_records": summary.error_records,
                    "wall_s": round(summary.wall_s, 3),
                }
            )
        )
        log.seal(run_id)
        summary.head = log.head
        return summary
    finally:
        log.close()
