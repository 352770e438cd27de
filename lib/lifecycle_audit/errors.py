"""Every error the workbook raises on purpose, under one base class."""

from __future__ import annotations


class AuditError(Exception):
    """Base of every error the workbook raises on purpose; its message is meant for the consultant."""


class ParamsError(AuditError):
    """The params file is missing, unreadable or does not match the model."""


class SourceError(AuditError):
    """A client file cannot be read or does not meet the data contract."""

    def __init__(self, problems: list):  # of sources.Problem
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CheckError(AuditError):
    """A check is declared wrongly or was asked for with unknown options."""


class NoEvidence(AuditError):
    """A check asked for its evidence has none: it was not run (its data is missing) or it raised."""


class RunError(AuditError):
    """A run could not be completed; the message names the stage and the cell."""
