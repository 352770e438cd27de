"""The checks: one function per diagnosis, declared beside its logic (see base.py), one module per stage.

Importing this package declares every check; `specs()` lists them in the report's order (stage by stage,
in the order each module declares them) and is the only catalogue there is.
"""

from __future__ import annotations

from .. import stages
from ..errors import CheckError
from . import acquisition, conversion, loyalty, reach, retention, winback  # noqa: F401 - declares the checks
from .base import (  # noqa: F401
    REGISTRY,
    UNITS,
    Chart,
    CheckSpec,
    Evidence,
    Message,
    Need,
    NotEnoughData,
    Options,
    check,
    parse_need,
    unmet_needs,
)


def specs(stage: str | None = None) -> list[CheckSpec]:
    """Every declared check, in stage order and then in declaration order; optionally of one stage."""
    order = {s: i for i, s in enumerate(stages.STAGES)}
    found = [s for s in REGISTRY.values() if stage is None or s.stage == stage]
    return sorted(found, key=lambda s: order[s.stage])  # sorted() is stable: declaration order within a stage


def get(check_id: str) -> CheckSpec:
    """The declaration of `check_id`; CheckError naming the known checks otherwise."""
    if check_id not in REGISTRY:
        raise CheckError(f"unknown check {check_id!r}: known checks: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[check_id]
