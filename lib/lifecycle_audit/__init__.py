"""Lifecycle Audit Workbook: audit an online shop's customer lifecycle from its exports."""

__version__ = "0.1.0"
