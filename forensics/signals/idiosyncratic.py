"""``idiosyncratic``: the same wrong answers, or else the same rare wording, as the reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.signals.registry import closeness_signal
from forensics.signals.scores import Measured, present_matrix


def _rare_ngram_values(
    reference: str, models: Sequence[str], pids: Sequence[str], features: Features, n: int = 3
) -> np.ndarray:
    """IDF-weighted Jaccard of word n-grams; the background of model m on a prompt is the other
    compared models' (non-empty) responses to it. Same definition as
    :func:`forensics.features.style.shared_rare_ngrams`, vectorised over prompts."""
    index = features.ngram_index(n)
    col_prompt, n_cols = index["col_prompt"], index["n_cols"]
    pos = features.index(pids)
    where = np.full(len(features.prompt_ids), -1, dtype=np.int64)  # corpus prompt position -> column of values
    where[pos] = np.arange(len(pids))
    present = present_matrix(features, models, pids)
    everything = len(pids) == len(features.prompt_ids)

    def restrict(cols: np.ndarray) -> np.ndarray:
        return cols if everything else cols[where[col_prompt[cols]] >= 0]

    empty = np.zeros(0, dtype=np.int64)
    cols_m = [restrict(index["cols"].get(m, empty)) for m in models]
    cols_r = restrict(index["cols"].get(reference, empty))
    df = np.zeros(n_cols, dtype=np.int32)
    for c in cols_m:
        df[c] += 1
    in_r = np.zeros(n_cols, dtype=bool)
    in_r[cols_r] = True
    n_bg = present.sum(0) - 1  # per prompt: other compared models with a response
    j_r = where[col_prompt[cols_r]]
    values = np.full((len(models), len(pids)), np.nan)
    in_m = np.zeros(n_cols, dtype=bool)
    for i, c in enumerate(cols_m):
        shared = in_r[c]
        inter, only_m = c[shared], c[~shared]
        in_m[c] = True
        # weights log((1 + N_bg) / (1 + df_bg)) + 1, df_bg = df among the other compared models
        w_r = np.log((1.0 + n_bg[j_r]) / (1.0 + df[cols_r] - in_m[cols_r])) + 1.0
        j_m = where[col_prompt[only_m]]
        w_m = np.log((1.0 + n_bg[j_m]) / df[only_m]) + 1.0  # df_bg = df - 1
        j_i = where[col_prompt[inter]]
        w_i = np.log((1.0 + n_bg[j_i]) / df[inter]) + 1.0
        in_m[c] = False
        den = np.bincount(j_r, weights=w_r, minlength=len(pids)) + np.bincount(j_m, weights=w_m, minlength=len(pids))
        num = np.bincount(j_i, weights=w_i, minlength=len(pids))
        with np.errstate(all="ignore"):
            v = num / den
        values[i] = np.where(den > 0, v, np.nan)  # the signal leaves out missing answers
    return values


@closeness_signal(
    "idiosyncratic",
    title="Shared mistakes and rare wording",
    plain=(
        "Where the reference gets an answer-keyed question wrong, whether the suspect gives the same wrong "
        "answer (shared mistakes are a strong trace of copying); without answer keys, how much rare, specific"
        " wording the suspect shares with the reference that other models do not use."
    ),
    description="same wrong answer as the reference on answer-keyed probes (error consistency)",
    standardise=None,
    order=60,
)
def idiosyncratic_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Error consistency on answer-keyed probes, else agreement on rare wording (docs/methods.md)."""
    meta = features.corpus.meta
    keyed = [p for p in prompt_ids if hasattr(meta.get(p, {}).get("answer"), "check")]
    if not keyed:
        return Measured(
            _rare_ngram_values(reference, models, prompt_ids, features),
            {"mode": "rare_ngrams"},
            standardise=True,
            description="agreement on rare specific wording (IDF-weighted shared word 3-grams)",
        )
    values = np.full((len(models), len(prompt_ids)), np.nan)
    n_wrong = 0
    for j, a in enumerate(features.answers(reference, prompt_ids)):
        if a is None or a[0] or a[1] is None:
            continue  # reference right, unanswered, or no key: says nothing about shared errors
        n_wrong += 1
        for i, m in enumerate(models):
            b = features.answers(m, [prompt_ids[j]])[0]
            if b is not None:
                values[i, j] = float(b[1] is not None and b[1] == a[1])
    info = {"mode": "error_consistency", "reference_errors": n_wrong, "keyed_prompts": len(keyed)}
    return Measured(values, info, standardise=False)
