"""Reports a user can take away: the ZIP (maps, overlays, metrics, grounded text, manifest) and the
manifest's reproduction check."""

from workbench.report.bundle import report_files, report_zip
from workbench.report.manifest import Analysis, build_manifest
from workbench.report.reproduce import read_report, reproduce
from workbench.report.text import Sentence, grounded_text

__all__ = ["Analysis", "Sentence", "build_manifest", "grounded_text", "read_report", "report_files", "report_zip",
           "reproduce"]
