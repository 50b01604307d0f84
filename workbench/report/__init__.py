"""Reports a user can take away: the PDF, the ZIP (maps, overlays, metrics, grounded text, manifest) and the
manifest's reproduction check."""

from workbench.report.bundle import Report, build_report, report_files
from workbench.report.manifest import Analysis, build_manifest
from workbench.report.pdf import report_pdf
from workbench.report.reproduce import read_report, reproduce
from workbench.report.text import Sentence, grounded_text

__all__ = ["Analysis", "Report", "Sentence", "build_manifest", "build_report", "grounded_text", "read_report",
           "report_files", "report_pdf", "reproduce"]
