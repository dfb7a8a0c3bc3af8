"""Writing a scan's outputs: ``detections.json``, ``scan.json``, one sealed log per campaign, the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from forensics.traffic.evidence import write_campaign_logs
from forensics.traffic.output import guarded_output, write_guarded
from forensics.traffic.report import write_report
from forensics.traffic.scan import ScanResult


def scan_summary(result: ScanResult, logs: list[Path]) -> dict:
    """What the scan decided and on what: calibration, campaigns, bad rows, settings and stage times."""
    return {
        "log": result.log,
        "files": len(result.files),
        "rows": result.tables.n_rows,
        "accounts": len(result.accounts),
        "flagged": len(result.flagged),
        "calibration": result.calibration.to_dict() | {"statement": result.calibration.describe()},
        "campaigns": [
            {
                "id": c.id,
                "accounts": len(c.accounts),
                "requests": c.requests,
                "harvest_requests": c.harvest_requests,
                "score_z": round(c.score, 4),
                "tests_z": dict(c.tests),
                "member_median_z": c.member_median_z,
                "fired": list(c.fired),
                "links": c.links,
                "evidence_log": str(log),
            }
            for c, log in zip(result.campaigns, logs)
        ],
        "same_source_link_cut_log10_p": result.content.source_link_cut,
        "mmd": [
            {
                "campaign_id": m.campaign,
                "mmd2": m.mmd2,
                "p_value": m.p_value,
                "n_prompts": m.n_prompts,
                "n_reference": m.n_reference,
                "permutations": m.permutations,
            }
            for m in result.mmd
        ],
        "bad_rows": result.tables.bad.to_dict(),
        "settings": result.settings,
        "stage_seconds": {k: round(v, 2) for k, v in result.stage_seconds.items()},
    }


def check_out_dir(out_dir: Path | str) -> None:
    """Fail before scanning, not after, when ``out_dir`` already holds a scan's campaign evidence."""
    held = sorted((Path(out_dir) / "campaigns").glob("*.jsonl"))
    if held:
        guarded_output(held[0], "evidence")  # raises: an evidence log is never reopened or overwritten


def write_scan(result: ScanResult, out_dir: Path | str, command: list[str] | None = None) -> dict[str, Path]:
    """All outputs of a scan under ``out_dir``; campaign logs go to ``out_dir/campaigns/`` and are never reopened."""
    out_dir = Path(out_dir)
    paths = {
        "detections": guarded_output(out_dir / "detections.json", "json"),
        "summary": guarded_output(out_dir / "scan.json", "json"),
        "report": guarded_output(out_dir / "report.html", "html"),
    }
    logs = write_campaign_logs(result, out_dir / "campaigns", command)
    write_guarded(paths["detections"], "json", json.dumps(result.detections(), indent=1) + "\n")
    write_guarded(paths["summary"], "json", json.dumps(scan_summary(result, logs), indent=1) + "\n")
    write_report(result, paths["report"], logs, command)
    return paths | {f"campaign {c.id}": log for c, log in zip(result.campaigns, logs)}
