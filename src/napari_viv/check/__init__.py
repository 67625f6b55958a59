"""Checking: will Viv and Avivator open a file, and if not, why and how to fix it."""

from .report import CheckReport, Finding
from .rules import check_file

__all__ = ["CheckReport", "Finding", "check_file"]
