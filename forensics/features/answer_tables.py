"""Answer tables: the answer every model commits to on answer-keyed probes, shared wrong answers, error consistency."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forensics.corpus import Corpus
from forensics.features.cache import Features


def _key_text(key) -> str:
    """An answer key in words: the number, the first accepted answer, or the regex."""
    if key is None:
        return ""
    if getattr(key, "number", None) is not None:
        n = float(key.number)
        return str(int(n)) if n.is_integer() else f"{n:g}"
    if getattr(key, "accept", None):
        return str(key.accept[0])
    return f"/{key.regex}/" if getattr(key, "regex", None) else ""


def answer_table(corpus: Corpus, models: Sequence[str], features=None, prompt_ids: Sequence[str] | None = None):
    """The answer each model commits to on every answer-keyed prompt (long format: one row per
    prompt and model): the extracted answer, whether it is correct, and the key. The extraction
    is the one the ``idiosyncratic`` signal uses (:meth:`forensics.features.Features.answers`)."""
    features = features or Features(corpus)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    keyed = [p for p in pids if hasattr((corpus.meta.get(p) or {}).get("answer"), "check")]
    rows = []
    for m in models:
        for p, a in zip(keyed, features.answers(m, keyed)):
            if a is None:
                continue
            rows.append(
                {
                    "prompt_id": p,
                    "model": m,
                    "answer": a[1],
                    "correct": bool(a[0]),
                    "key": _key_text(corpus.meta[p]["answer"]),
                    "prompt": corpus.prompts.get(p, ""),
                }
            )
    return pd.DataFrame(rows, columns=["prompt_id", "model", "answer", "correct", "key", "prompt"])


def shared_errors(answers, reference: str, suspect: str, panel: Sequence[str]):
    """Prompts where ``suspect`` commits to the same WRONG answer as ``reference``, with how many
    panel members (and which) gave that same wrong answer too. A wrong answer shared with R and
    with nobody in the panel is the strongest trace of copying; one the panel shares as well is a
    common mistake, not a fingerprint."""
    columns = ["prompt_id", "prompt", "key", "shared wrong answer", "panel with same answer", "panel answered"]
    if answers.empty:
        return pd.DataFrame(columns=columns).set_index("prompt_id")
    by = {(r.prompt_id, r.model): r for r in answers.itertuples(index=False)}
    rows = []
    for pid in sorted({p for p, m in by if m == reference}):
        r, s = by.get((pid, reference)), by.get((pid, suspect))
        if r is None or s is None or r.correct or r.answer is None or s.answer != r.answer:
            continue
        answered = [m for m in panel if (pid, m) in by]
        same = [m for m in answered if by[(pid, m)].answer == r.answer]
        rows.append(
            {
                "prompt_id": pid,
                "prompt": r.prompt,
                "key": r.key,
                "shared wrong answer": r.answer,
                "panel with same answer": ", ".join(same) if same else "none",
                "panel answered": len(answered),
            }
        )
    return pd.DataFrame(rows, columns=columns).set_index("prompt_id")


def error_consistency(answers, reference: str, models: Sequence[str]):
    """Per model, against the reference, on the answer-keyed prompts both answered:

    * ``R wrong``: prompts where the reference is wrong; ``same wrong``: of those, where the
      model commits to the very same wrong answer; ``same-wrong rate`` = same wrong / R wrong
      (the quantity of the ``idiosyncratic`` signal);
    * ``accuracy`` of the model, and ``error kappa``: Cohen's kappa of the right/wrong pattern
      (error consistency, Geirhos et al. 2020), 0 when two models err on prompts no more alike
      than their accuracies imply by chance, 1 when they err on exactly the same prompts.
    """
    by = {(r.prompt_id, r.model): r for r in answers.itertuples(index=False)} if not answers.empty else {}
    rows = []
    for m in models:
        if m == reference:
            continue
        pids = sorted(p for p, mm in by if mm == m and (p, reference) in by)
        rc = np.array([by[(p, reference)].correct for p in pids], dtype=bool)
        mc = np.array([by[(p, m)].correct for p in pids], dtype=bool)
        r_wrong = [p for p in pids if not by[(p, reference)].correct and by[(p, reference)].answer is not None]
        same = [p for p in r_wrong if by[(p, m)].answer == by[(p, reference)].answer]
        kappa = float("nan")
        if len(pids):
            observed = float(np.mean(rc == mc))
            pr, pm = rc.mean(), mc.mean()
            expected = pr * pm + (1 - pr) * (1 - pm)
            kappa = (observed - expected) / (1 - expected) if expected < 1 else float("nan")
        rows.append(
            {
                "model": m,
                "keyed prompts": len(pids),
                "accuracy": round(float(mc.mean()), 2) if len(pids) else float("nan"),
                "R wrong": len(r_wrong),
                "same wrong": len(same),
                "same-wrong rate": round(len(same) / len(r_wrong), 2) if r_wrong else float("nan"),
                "error kappa": round(kappa, 2) if np.isfinite(kappa) else float("nan"),
            }
        )
    return pd.DataFrame(
        rows, columns=["model", "keyed prompts", "accuracy", "R wrong", "same wrong", "same-wrong rate", "error kappa"]
    ).set_index("model")
