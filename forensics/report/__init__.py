"""The evidence report and the figures: verdicts and evidence in, one self-contained HTML file out."""

from forensics.report import plots
from forensics.report.build import check_labels, default_panel, rebuild_command, render_report, verify_evidence
from forensics.report.descriptive_plots import (
    plot_closeness,
    plot_error_consistency,
    plot_refusal_agreement,
    plot_refusal_matrix,
    plot_roc,
    plot_sample_efficiency,
)
from forensics.report.digest import (
    CSP,
    TIMESTAMP_ATTR,
    ReportError,
    build_digest,
    check_report_targets,
    read_digest,
    render_digest,
    write_digest,
)
from forensics.report.pipeline import EFFICIENCY_SIZES, InvestigationResult, build_report, investigate
from forensics.report.plots import attribution_heatmap, efficiency_plot, signal_heatmap, verdict_figure
from forensics.report.views import visible

__all__ = [
    "CSP",
    "EFFICIENCY_SIZES",
    "InvestigationResult",
    "attribution_heatmap",
    "efficiency_plot",
    "signal_heatmap",
    "build_digest",
    "check_report_targets",
    "investigate",
    "read_digest",
    "render_digest",
    "write_digest",
    "TIMESTAMP_ATTR",
    "ReportError",
    "build_report",
    "check_labels",
    "default_panel",
    "plot_closeness",
    "plot_error_consistency",
    "plot_refusal_agreement",
    "plot_refusal_matrix",
    "plot_roc",
    "plot_sample_efficiency",
    "plots",
    "rebuild_command",
    "render_report",
    "verdict_figure",
    "verify_evidence",
    "visible",
]
