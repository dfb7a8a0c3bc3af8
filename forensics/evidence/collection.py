"""The collection engine: probes in, evidence out.

It sits once above every provider and owns what providers must not: bounded concurrency, a
rate limit, retries with backoff, progress, resuming, and writing every exchange (failures
included) to the evidence log as soon as it happens, so a crash loses nothing collected.
It lives in the evidence layer, not among the providers, because it writes evidence and the
layers only import downwards (providers never import evidence).
"""

from __future__ import annotations

import hashlib
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

from forensics.evidence.log import EvidenceLog, canonical_json, read_records, utc_now
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


def open_provider(spec: ModelSpec | str) -> ModelAPI:
    """The adapter for ``spec``; a ``replay`` spec serves the records of its (verified) log."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    records = read_records(Path(spec.base_url)) if spec.provider == "replay" else None
    return make_provider(spec, records)


@dataclass
class CollectionSummary:
    log: str
    run_id: str
    planned: int
    already_done: int
    succeeded: int = 0
    failed: int = 0
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
        if rec.get("kind") == "response":
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
) -> CollectionSummary:
    """Send every (probe, sample) not yet answered in ``log_path`` and record each exchange.

    A rerun after a crash or kill repairs the log's torn tail, skips what already succeeded,
    and retries only what is missing or failed.
    """
    spec = parse_spec(model) if isinstance(model, str) else model
    api = provider or open_provider(spec)
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
        log.append(
            {
                "kind": "run",
                "run_id": run_id,
                "timestamp": utc_now(),
                "model": spec.id,
                "label": label,
                "endpoint": spec.base_url,
                "provider": spec.provider,
                "decoding": decoding.fingerprint(),
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
        limiter = RateLimiter(rate_limit)
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
            request = api.build_request(list(probe.messages), decoding, sample_index)
            sent = {
                "method": "POST",
                "endpoint": getattr(api, "endpoint", ""),
                "base_url": spec.base_url,
                "body": request,
            }
            retrying = Retrying(
                stop=stop_after_attempt(max_attempts),
                reraise=True,
                wait=wait_exponential_jitter(multiplier=backoff, max=backoff_max, jitter=backoff),
                retry=retry_if_exception_type(TransientError),
            )
            try:
                for attempt in retrying:
                    with attempt:
                        n = attempt.retry_state.attempt_number
                        limiter.wait()
                        t0, sent_at = time.monotonic(), utc_now()
                        try:
                            raw = api.send(request, timeout)
                            reply = api.parse(raw)
                        except (TransientError, PermanentError) as exc:
                            final = isinstance(exc, PermanentError) or n >= max_attempts
                            log.append(
                                {
                                    **base,
                                    "kind": "error",
                                    "attempt": n,
                                    "request": sent,
                                    "sent_at": sent_at,
                                    "timestamp": utc_now(),
                                    "latency_s": round(time.monotonic() - t0, 4),
                                    "error": {
                                        "kind": exc.kind,
                                        "message": str(exc)[:2000],
                                        "status": exc.status,
                                        "raw": exc.raw,
                                        "final": final,
                                    },
                                }
                            )
                            summary.error_records += 1
                            raise
                        log.append(
                            {
                                **base,
                                "kind": "response",
                                "attempt": n,
                                "request": sent,
                                "sent_at": sent_at,
                                "timestamp": utc_now(),
                                "latency_s": round(time.monotonic() - t0, 4),
                                "response": {
                                    "text": reply.text,
                                    "raw": raw,
                                    "model_reported": reply.model_reported,
                                    "finish_reason": reply.finish_reason,
                                },
                                "usage": reply.usage,
                            }
                        )
                return True, probe.id
            except (TransientError, PermanentError) as exc:
                return False, f"{probe.id}#{sample_index}: {exc}"

        bar = tqdm(total=len(tasks), desc=f"collect {label}", unit="req", disable=not progress)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for fut in as_completed([pool.submit(run_one, t) for t in tasks]):
                ok, info = fut.result()
                if ok:
                    summary.succeeded += 1
                else:
                    summary.failed += 1
                    summary.failures.append(info)
                bar.update(1)
        bar.close()
        summary.wall_s = time.monotonic() - started
        log.append(
            {
                "kind": "run_end",
                "run_id": run_id,
                "timestamp": utc_now(),
                "succeeded": summary.succeeded,
                "failed": summary.failed,
                "error_records": summary.error_records,
                "wall_s": round(summary.wall_s, 3),
            }
        )
        summary.head = log.head
        return summary
    finally:
        log.close()
