"""Provider-side forensics: find extraction campaigns in API request logs, seal them, turn them into probes."""

from forensics.traffic.scan import Campaign, ScanResult, scan
from forensics.traffic.schema import ColumnMapping, TrafficSchemaError

__all__ = ["Campaign", "ColumnMapping", "ScanResult", "TrafficSchemaError", "scan"]
