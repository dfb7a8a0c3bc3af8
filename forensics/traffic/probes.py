"""``export-probes``: a campaign's own prompts as a probe set for the model-side test.

A harvester's prompts are where its student imitates the teacher most, so they make strong probes.
The prompts come from the campaign's sealed evidence log (verified first), are deduplicated after
normalisation, sampled with an explicit generator, and written as a probe set that
``forensics probes validate`` accepts; each probe id carries the prompt's SHA-256 prefix and the
full hashes are listed under ``x-prompt-sha256``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np
import yaml

from forensics.evidence import EvidenceError, read_records, verify
from forensics.probes import load_probe_set
from forensics.traffic.features import normalise
from forensics.traffic.output import write_guarded

# A rough language guess by script, enough for the probe format's two-letter code; Latin text is "en".
_SCRIPTS = (
    ("CJK UNIFIED", "zh"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CYRILLIC", "ru"),
    ("ARABIC", "ar"),
    ("DEVANAGARI", "hi"),
    ("GREEK", "el"),
    ("HEBREW", "he"),
    ("THAI", "th"),
)


def guess_language(text: str) -> str:
    counts: dict[str, int] = {}
    for ch in text[:2000]:
        if ch.isalpha() and ord(ch) > 0x24F:
            name = unicodedata.name(ch, "")
            for script, code in _SCRIPTS:
                if script in name:
                    counts[code] = counts.get(code, 0) + 1
                    break
    letters = sum(ch.isalpha() for ch in text[:2000]) or 1
    if counts and max(counts.values()) / letters > 0.3:
        if counts.get("ja") and counts.get("zh"):
            return "ja"
        return max(counts, key=counts.get)
    return "en"


def campaign_prompts(log: Path | str) -> tuple[str, list[str]]:
    """(campaign id, distinct prompts in log order) of a verified campaign evidence log."""
    log = Path(log)
    result = verify(log)
    if not result.ok:
        raise EvidenceError(result.describe())
    records = read_records(log, check=False)
    campaign = next((r for r in records if r["kind"] == "campaign"), None)
    if campaign is None:
        raise EvidenceError(f"{log}: not a campaign evidence log (no 'campaign' record)")
    seen, prompts = set(), []
    for r in records:
        if r["kind"] == "traffic_request" and isinstance(r.get("prompt"), str) and r["prompt"].strip():
            key = normalise(r["prompt"])
            if key not in seen:
                seen.add(key)
                prompts.append(r["prompt"])
    return campaign["campaign_id"], prompts


def export_probes(log: Path | str, out: Path | str, *, limit: int = 200, rng: np.random.Generator) -> Path:
    """Write up to ``limit`` sampled, deduplicated, hashed prompts of a campaign as a probe set."""
    campaign_id, prompts = campaign_prompts(log)
    if not prompts:
        raise EvidenceError(f"{log}: the campaign log holds no prompts to export")
    if len(prompts) > limit:
        prompts = [prompts[i] for i in sorted(rng.choice(len(prompts), limit, replace=False))]
    slug = re.sub(r"[^a-z0-9._-]+", "-", campaign_id.lower()).strip("-") or "campaign"
    probes, hashes = [], {}
    for text in prompts:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        pid = f"harvest-{slug}-{digest[:16]}"
        hashes[pid] = digest
        probes.append(
            {
                "id": pid,
                "family": "style",
                "prompt": text,
                "language": guess_language(text),
                "tags": ["harvested", f"campaign-{slug}"],
            }
        )
    doc = {
        "name": f"harvest-{slug}",
        "description": f"Prompts of campaign {campaign_id}, taken from its sealed evidence log {Path(log).name} "
        f"(verified), deduplicated and sampled ({len(probes)} probes).",
        "x-source": {"evidence_log": str(log), "head": verify(log).head},
        "x-prompt-sha256": hashes,
        "probes": probes,
    }
    out = write_guarded(out, "yaml", yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120))
    load_probe_set(out)  # the file must load as a probe set, or the export failed
    return out
