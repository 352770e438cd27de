"""Presets: small documented transforms from the exports consultants get to the contract's tables.

A preset reads its raw file(s) through the sources reading layer (encodings, delimiters, blank and
repeated header rows, folders), renames the client's columns onto its own field names
(`columns:` in the params entry: {field: their column}), applies value maps (`values:`), and
returns contract tables plus the fate of every raw row: used, excluded by one of its rules (an
expected, documented exclusion such as a cancellation) or rejected as bad data (a date that cannot
be read). The tables then pass the same contract validation as any mapped file.

    sources:
      transactions:                      # any name: the preset says which tables it yields
        preset: transaction_lines
        file: online_retail_II.csv.gz
        options: {guest_lines: exclude}
"""

from __future__ import annotations

from .apply import run
from .base import (
    REGISTRY,
    USED,
    Built,
    Context,
    Options,
    Preset,
    Reason,
    empty,
    first_reason,
    number,
    register,
    text,
    timestamp,
)
from .registry import all_presets, get, validate

__all__ = [
    "REGISTRY",
    "USED",
    "Built",
    "Context",
    "Options",
    "Preset",
    "Reason",
    "all_presets",
    "empty",
    "first_reason",
    "get",
    "number",
    "register",
    "run",
    "text",
    "timestamp",
    "validate",
]
