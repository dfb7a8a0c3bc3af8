"""The ``forensics`` command line: every sub-command and its parser."""

from forensics.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
