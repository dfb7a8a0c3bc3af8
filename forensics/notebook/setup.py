"""Notebook set-up: offline and quiet defaults, and paths relative to the checkout (or, installed from a
wheel, to the current folder)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from IPython import get_ipython


def repo_root() -> Path | None:
    """The checkout this package runs from (the folder holding ``pyproject.toml``), or None when
    the package is installed elsewhere."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "forensics").is_dir() else None


def shipped_notebook(name: str) -> Path:
    """A notebook of the checkout's ``notebooks/`` or, installed from a wheel, of the package's copy
    (``forensics/notebooks/``, package data built from that folder)."""
    return (repo_root() or Path(__file__).resolve().parents[1]) / "notebooks" / name


def rebuild_target(shipped_case: Path) -> Path:
    """Where a rebuild of an embedded case writes: the case itself in a checkout (git keeps its
    history), else a folder of its name in the current folder, never the installed package's copy."""
    return shipped_case if repo_root() else Path.cwd() / shipped_case.name


def resolve_path(path: str | os.PathLike, base: str | os.PathLike | None = None) -> Path:
    """``path`` as given when absolute; otherwise relative to ``base``, by default the checkout's
    root (or the current directory outside a checkout), so a notebook finds the same files
    whether it runs from ``notebooks/``, from the repository root or under papermill."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    root = Path(base) if base is not None else (repo_root() or Path.cwd())
    return Path(os.path.normpath(root / p))


def notebook_setup(cache_dir: str | os.PathLike | None = None, quiet: bool = True) -> dict:
    """Offline, quiet and reproducible notebook defaults; returns what it set.

    * never reach a model hub (``HF_HUB_OFFLINE`` and friends);
    * the embedding cache in ``cache_dir`` (relative paths from the checkout's root), else in
      ``$FORENSICS_CACHE_DIR`` when set, else in the checkout's ``.cache/forensics`` so notebooks
      share the cache of the command line and the tests (outside a checkout: ``.cache/forensics``
      in the current folder, where the command line keeps it too);
    * with ``quiet``: no progress bars (tqdm, Hugging Face), no numpy warnings about empty
      slices (which the statistics raise, harmlessly, when a test is undefined); call it
      before importing what loads models;
    * in IPython, figures are shown inline.
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cache_dir is not None:
        os.environ["FORENSICS_CACHE_DIR"] = str(resolve_path(cache_dir))
    elif not os.environ.get("FORENSICS_CACHE_DIR"):
        os.environ["FORENSICS_CACHE_DIR"] = str((repo_root() or Path.cwd()) / ".cache" / "forensics")
    if quiet:
        os.environ["TQDM_DISABLE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        for pattern in ("Mean of empty slice", "Degrees of freedom <= 0", "invalid value encountered"):
            warnings.filterwarnings("ignore", message=pattern, category=RuntimeWarning)
        try:
            # Imported here, after the environment above is set: transformers reads it on import.
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        except Exception:  # pragma: no cover - transformers is a dependency of sentence-transformers
            pass
    shell = get_ipython()
    if shell is not None and hasattr(shell, "run_line_magic"):
        shell.run_line_magic("matplotlib", "inline")
    return {"cache_dir": os.environ["FORENSICS_CACHE_DIR"], "offline": True, "quiet": quiet}
