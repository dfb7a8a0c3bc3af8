"""Descriptive, uncalibrated closeness to the reference: raw embedding cosines and verbatim matches.

For cases whose panel is too small to calibrate the test: it shows what the test would work with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forensics.corpus import Corpus
from forensics.signals.scores import check_models
from forensics.signals.store import ClosenessStore, covering_store


def raw_cosines(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    features=None,
    prompt_ids: Sequence[str] | None = None,
    *,
    store: ClosenessStore | None = None,
):
    """Per-prompt cosine between each model's response embedding and the reference's, uncentred
    (models x prompts, NaN where either response is missing or empty). Descriptive only: unlike
    the ``embedding`` signal it does not remove what every model says to a prompt.

    The cosines are the ``embedding`` column of ``store`` (a notebook passes its investigation's);
    without one (or one that lacks some of these models), a store of these models is made."""
    models = check_models(reference, models)
    pids = list(prompt_ids) if prompt_ids is not None else corpus.common_prompts([reference])
    store = covering_store(store, corpus, features, [reference, *models])
    values = np.array([store.row("embedding", reference, m, pids) for m in models], dtype=float)
    return pd.DataFrame(values.reshape(len(models), len(pids)), index=models, columns=pids)


def closeness_summary(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    features=None,
    prompt_ids: Sequence[str] | None = None,
    near: float = 0.9,
    *,
    store: ClosenessStore | None = None,
):
    """How close each model's answers are to the reference's, with no statistics: mean and median
    raw cosine, share of prompts above ``near`` and share answered word for word the same.

    Without a panel to calibrate against this proves nothing by itself (answers to the same
    prompt are similar across all models); it shows what the calibrated test would work with."""
    cos = raw_cosines(corpus, reference, models, features, prompt_ids, store=store)
    rows = []
    for m in models:
        v = cos.loc[m].to_numpy(dtype=float)
        ok = np.isfinite(v)
        same = [
            (corpus.text(m, p) or "").strip() == (corpus.text(reference, p) or "").strip()
            for p, good in zip(cos.columns, ok)
            if good
        ]
        rows.append(
            {
                "model": m,
                "prompts": int(ok.sum()),
                "mean cosine": round(float(np.mean(v[ok])), 2) if ok.any() else float("nan"),
                "median cosine": round(float(np.median(v[ok])), 2) if ok.any() else float("nan"),
                f"share cosine >= {near}": round(float(np.mean(v[ok] >= near)), 2) if ok.any() else float("nan"),
                "share verbatim": round(float(np.mean(same)), 2) if same else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("model")
