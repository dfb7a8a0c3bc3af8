"""Provider-side forensics: find extraction campaigns in API request logs, seal them, turn them into probes."""

from pathlib import Path

from forensics.traffic.scan import Campaign, ScanResult, scan
from forensics.traffic.schema import ColumnMapping, TrafficSchemaError

__all__ = ["Campaign", "ColumnMapping", "ScanResult", "TrafficSchemaError", "day_slice", "scan", "scan_traffic"]

scan_traffic = scan  # the name the top-level package exports


def day_slice(log: Path | str, days: list[str]) -> list[Path] | None:
    """The ``day=YYYY-MM-DD`` partitions of a hive-partitioned log for the given days, or None when the log
    (or any of those days) is not there: notebooks run on such a slice and say so when it is absent."""
    log = Path(log)
    folders = [log / f"day={d}" for d in days]
    return folders if log.is_dir() and all(f.is_dir() for f in folders) else None
