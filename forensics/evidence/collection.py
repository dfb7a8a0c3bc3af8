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
from forensics.evidence.log import EvidenceLog, read_records, utc_now
from forensics.evidence.records import (
    ErrorRecord,
    RecordError,
    ResponseRecord,
    RunEndRecord,
    RunRecord,
    canonical_json,
    normalise_numbers,
)
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
    """The adapter for ``spec``; a ``replay`` spec serves the records of its (verified) log."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    records = read_records(Path(spec.base_url)) if spec.provider == "replay" else None
    return make_provider(spec, records, key_env=key_env)


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


def completed_keys(log_path: Path) -> set[str]:
    """Keys of the exchanges that already succeeded in a log; errors don't count as done."""
    if not log_path.exists():
        return set()
    done = set()
    for rec in read_records(log_path, check=False):
        error = rec.get("error") or {}
        if rec["kind"] == "response" or (error.get("final") and error.get("kind") in FINAL_OUTCOMES):
            done.add(
                task_key(
                    rec["model"], rec["label"], rec["probe_digest"], rec["sample_index"], Decoding(**rec["decoding"])
                )
            )
    return done


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
) -> CollectionSummary:
    """Send every (probe, sample) not yet answered in ``log_path`` and record each exchange.

    A rerun after a crash or kill repairs the log's torn tail, skips what already succeeded
    (or ended for good: empty after every retry, or unusable), and retries only the rest.
    A reply that cannot be stored becomes an error record and the run goes on; a host that
    cannot be reached stops the run at once. The run ends with a seal.
    ``weights_sha256`` names the weights of a model the toolkit serves itself (a local server
    only echoes the name it was given).
    """
    spec = parse_spec(model) if isinstance(model, str) else model
    api = provider or open_provider(spec, key_env)
    local = Path(spec.name)
    if spec.provider == "hf" and weights_sha256 is None and local.exists():
        weights_sha256 = folder_sha256(local) if local.is_dir() else file_sha256(local)
    label = label or spec.id
    probe_sets = list(probe_sets)
    log_path = Path(log_path)
    log = EvidenceLog(log_path)
    try:
        done = completed_keys(log_path)
        tasks = []
        for pset in probe_sets:
            for probe in pset.probes:
                digest = probe_key(probe)
                for s in range(decoding.samples):
                    if task_key(spec.id, label, digest, s, decoding) not in done:
                        tasks.append((pset, probe, digest, s))
        run_id = uuid.uuid4().hex
        summary = CollectionSummary(
            str(log_path),
            run_id,
            planned=len(tasks),
            already_done=sum(len(p.probes) for p in probe_sets) * decoding.samples - len(tasks),
        )
        _, not_sent = _split(api, api.build_request([{"role": "user", "content": ""}], decoding, 0))
        log.append(
            RunRecord(
                {
                    "run_id": run_id,
                    "model": spec.id,
                    "label": label,
                    "endpoint": spec.base_url,
                    "provider": spec.provider,
                    "decoding": decoding.fingerprint(),
                    "requested_not_sent": not_sent,
                    "weights_sha256": weights_sha256,
                    "max_reply_chars": max_reply_chars,
                    "samples": decoding.samples,
                    "probe_sets": [
                        {"name": p.name, "version": p.version, "path": str(p.path), "probes": len(p.probes)}
                        for p in probe_sets
                    ],
                    "planned": len(tasks),
                    "already_done": summary.already_done,
                    "concurrency": concurrency,
                    "rate_limit": rate_limit,
                    "max_attempts": max_attempts,
                    "timeout_s": timeout,
                    "versions": package_versions(),
                    "command": command,
                    "torn_tail_set_aside": str(log.torn_bytes_saved_to) if log.torn_bytes_saved_to else None,
                }
            )
        )
        limiter = RateLimiter(rate_limit)
        unreachable = threading.Event()
        started = time.monotonic()

        def run_one(task):
            pset, probe, digest, sample_index = task
            base = {
                "run_id": run_id,
                "model": spec.id,
                "label": label,
                "endpoint": spec.base_url,
                "provider": spec.provider,
                "probe_id": probe.id,
                "probe_digest": digest,
                "probe_set": pset.name,
                "probe_set_version": pset.version,
                "probe": {
                    "family": probe.family,
                    "language": probe.language,
                    "tags": list(probe.tags),
                    "answer": probe.answer.to_dict() if probe.answer else None,
                },
                "messages": list(probe.messages),
                "prompt": probe.prompt,
                "sample_index": sample_index,
                "decoding": decoding.fingerprint(),
            }
            body, not_sent = _split(api, api.build_request(list(probe.messages), decoding, sample_index))
            if weights_sha256:
                base["weights_sha256"] = weights_sha256
            sent = {
                "method": "POST",
                "endpoint": getattr(api, "endpoint", ""),
                "base_url": spec.base_url,
                "body": body,
                "requested_not_sent": not_sent,
            }
            retrying = Retrying(
                stop=stop_after_attempt(max_attempts),
                reraise=True,
                wait=wait_exponential_jitter(multiplier=backoff, max=backoff_max, jitter=backoff),
                retry=retry_if_exception_type(TransientError),
            )

            def record_error(exc, n, sent_at, t0, raw) -> None:
                final = isinstance(exc, PermanentError) or n >= max_attempts
                error = {"kind": exc.kind, "message": str(exc)[:2000], "status": exc.status, "final": final}
                fields = {
                    **base,
                    "attempt": n,
                    "request": sent,
                    "sent_at": sent_at,
                    "latency_s": round(time.monotonic() - t0, 4),
                }
                try:
                    log.append(ErrorRecord({**fields, "error": {**error, "raw": raw}}))
                except (UnicodeEncodeError, ValueError, RecursionError, RecordError):
                    log.append(ErrorRecord({**fields, "error": {**error, "raw": _escaped(raw), "raw_escaped": True}}))
                summary.error_records += 1

            try:
                for attempt in retrying:
                    with attempt:
                        n = attempt.retry_state.attempt_number
                        if unreachable.is_set():
                            raise PermanentError("not_sent", f"not sent: {spec.base_url} could not be reached")
                        limiter.wait()
                        t0, sent_at, raw = time.monotonic(), utc_now(), None
                        try:
                            raw, normalised = normalise_numbers(api.send(body, timeout))
                            reply = api.parse(raw)
                            if reply.text is None or not reply.text.strip():
                                raise TransientError("empty", "reply has no content (empty or null)")
                        except (TransientError, PermanentError) as exc:
                            if exc.kind == "unreachable":
                                unreachable.set()
                            record_error(exc, n, sent_at, t0, exc.raw if exc.raw is not None else raw)
                            raise
                        text, kept_raw, capped = _cap(reply.text, raw, max_reply_chars)
                        response = {
                            "text": text,
                            "raw": kept_raw,
                            "model_reported": reply.model_reported,
                            "finish_reason": reply.finish_reason,
                        }
                        extra = {"normalised": normalised} if normalised else {}
                        if capped:
                            extra["capped"] = capped
                        try:
                            log.append(
                                ResponseRecord(
                                    {
                                        **base,
                                        **extra,
                                        "attempt": n,
                                        "request": sent,
                                        "sent_at": sent_at,
                                        "latency_s": round(time.monotonic() - t0, 4),
                                        "response": response,
                                        "usage": reply.usage,
                                    }
                                )
                            )
                        except (UnicodeEncodeError, ValueError, RecursionError) as exc:
                            bad = PermanentError(
                                "unusable_reply",
                                f"reply cannot be stored as strict UTF-8 JSON ({type(exc).__name__}: {str(exc)[:200]})",
                            )
                            record_error(bad, n, sent_at, t0, raw)
                            raise bad from None
                return "ok", probe.id
            except (TransientError, PermanentError) as exc:
                outcome = "empty" if exc.kind == "empty" else "failed"
                return outcome, f"{probe.id}#{sample_index}: {exc}"

        bar = tqdm(total=len(tasks), desc=f"collect {label}", unit="req", disable=not progress)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for fut in as_completed([pool.submit(run_one, t) for t in tasks]):
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
