"""Refusal tables: who refuses which prompt, how often two models refuse the same prompts, and in which words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forensics.corpus import Corpus
from forensics.features.cache import Features
from forensics.features.refusal import phrase_tokens, token_jaccard


@dataclass
class RefusalMatrix:
    """Who refuses which prompt: ``refused[i, j]`` is 1.0 when ``models[i]`` refused prompt
    ``prompt_ids[j]``, 0.0 when it answered, NaN when it has no (non-empty) response.
    ``phrases[model][prompt_id]`` is the canonical refusal phrase where it refused."""

    models: list[str]
    prompt_ids: list[str]
    refused: np.ndarray
    phrases: dict[str, dict[str, str | None]]
    families: list[str | None]

    def to_frame(self):
        return pd.DataFrame(self.refused, index=self.models, columns=self.prompt_ids)

    def rates(self):
        """Per model: responses, refusals and refusal rate."""
        rows = []
        for m, row in zip(self.models, self.refused):
            ok = np.isfinite(row)
            rows.append(
                {
                    "model": m,
                    "responses": int(ok.sum()),
                    "refusals": int(np.nansum(row)),
                    "refusal rate": round(float(np.nanmean(row)), 2) if ok.any() else float("nan"),
                }
            )
        return pd.DataFrame(rows).set_index("model")


def refusal_matrix(
    corpus: Corpus,
    models: Sequence[str],
    features=None,
    prompt_ids: Sequence[str] | None = None,
    families: Iterable[str] | None = None,
    only_refused: bool = False,
) -> RefusalMatrix:
    """Refusal decisions of every model on every prompt, by the package's refusal detector
    (through :class:`forensics.features.Features`, so the signal and this table agree).

    ``families``: only prompts of these probe families (``corpus.meta[pid]["family"]``).
    ``only_refused``: keep only prompts that at least one model refused (the rest say nothing
    about *who* refuses)."""
    features = features or Features(corpus)
    models = list(models)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    if families is not None:
        wanted = set(families)
        pids = [p for p in pids if (corpus.meta.get(p) or {}).get("family") in wanted]
    refused = np.full((len(models), len(pids)), np.nan)
    phrases: dict[str, dict[str, str | None]] = {}
    for i, m in enumerate(models):
        phrases[m] = {}
        for j, r in enumerate(features.refusals(m, pids)):
            if r is None:
                continue
            refused[i, j] = float(r[0])
            phrases[m][pids[j]] = r[1]
    if only_refused and pids:
        keep = np.nansum(refused, axis=0) > 0
        pids = [p for p, k in zip(pids, keep) if k]
        refused = refused[:, keep]
    fams = [(corpus.meta.get(p) or {}).get("family") for p in pids]
    return RefusalMatrix(models, pids, refused, phrases, fams)


def refusal_agreement(matrix: RefusalMatrix, kind: str = "jaccard"):
    """Pairwise refusal agreement (models x models) over prompts both models answered.

    ``kind="jaccard"``: refused by both / refused by either (NaN when neither refuses anything):
    "do they refuse the *same* prompts". ``kind="agreement"``: share of prompts with the same
    decision (refuse or answer)."""
    if kind not in ("jaccard", "agreement"):
        raise ValueError(f"kind must be 'jaccard' or 'agreement', not {kind!r}")
    M = len(matrix.models)
    out = np.full((M, M), np.nan)
    for a in range(M):
        for b in range(M):
            x, y = matrix.refused[a], matrix.refused[b]
            ok = np.isfinite(x) & np.isfinite(y)
            if not ok.any():
                continue
            xa, yb = x[ok] > 0.5, y[ok] > 0.5
            if kind == "agreement":
                out[a, b] = float(np.mean(xa == yb))
            elif (xa | yb).any():
                out[a, b] = float((xa & yb).sum() / (xa | yb).sum())
    return pd.DataFrame(out, index=matrix.models, columns=matrix.models)


def refusal_phrase_table(matrix: RefusalMatrix, reference: str):
    """Every prompt where the reference and another model both refuse: the two canonical refusal
    phrases and their token overlap (Jaccard), the quantity the ``refusal`` signal weighs."""
    rows = []
    ref_phrases = matrix.phrases.get(reference, {})
    r_i = matrix.models.index(reference)
    for i, m in enumerate(matrix.models):
        if m == reference:
            continue
        for j, p in enumerate(matrix.prompt_ids):
            if matrix.refused[r_i, j] == 1.0 and matrix.refused[i, j] == 1.0:
                a, b = ref_phrases.get(p), matrix.phrases[m].get(p)
                rows.append(
                    {
                        "model": m,
                        "prompt_id": p,
                        "reference phrase": a or "",
                        "model phrase": b or "",
                        "overlap": round(token_jaccard(phrase_tokens(a), phrase_tokens(b)), 2),
                        "identical": (a or "") == (b or ""),
                    }
                )
    columns = ["model", "prompt_id", "reference phrase", "model phrase", "overlap", "identical"]
    return pd.DataFrame(rows, columns=columns)


def phrase_overlap_summary(matrix: RefusalMatrix, reference: str):
    """Per model, against the reference: prompts the reference refused, how many of those the
    model refused too, its refusals the reference did not make, and how alike the refusal
    phrases are where both refuse (mean token overlap, identical phrases)."""
    table = refusal_phrase_table(matrix, reference)
    r = matrix.refused[matrix.models.index(reference)]
    rows = []
    for i, m in enumerate(matrix.models):
        if m == reference:
            continue
        x = matrix.refused[i]
        ok = np.isfinite(x) & np.isfinite(r)
        both = table[table["model"] == m]
        rows.append(
            {
                "model": m,
                "R refused": int((r[ok] == 1).sum()),
                "also refused": int(((r[ok] == 1) & (x[ok] == 1)).sum()),
                "refused, R did not": int(((r[ok] == 0) & (x[ok] == 1)).sum()),
                "mean phrase overlap": round(float(both["overlap"].mean()), 2) if len(both) else float("nan"),
                "identical phrases": int(both["identical"].sum()) if len(both) else 0,
            }
        )
    return pd.DataFrame(rows).set_index("model")
