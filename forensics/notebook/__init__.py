"""What the investigator notebooks stand on: set-up, cases, investigations, and the embedded demo case.

The tables and figures the notebooks show live at their pipeline stage (features, signals,
verdict, report, bench); this package only sets a notebook up and settles who is who.
"""

from forensics.notebook.cases import DEMO_CASE_DIR, Case, expectation_table, load_case
from forensics.notebook.investigation import Investigation, collect_subjects, open_investigation, verify_table
from forensics.notebook.setup import notebook_setup, repo_root, resolve_path

__all__ = [
    "DEMO_CASE_DIR",
    "Case",
    "Investigation",
    "collect_subjects",
    "expectation_table",
    "load_case",
    "notebook_setup",
    "open_investigation",
    "repo_root",
    "resolve_path",
    "verify_table",
]
