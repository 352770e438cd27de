"""The generated shops the synth tests read, each made once per test session."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pandas as pd

from lifecycle_audit import synth

SIZE = 2000
END = pd.Timestamp("2026-09-30")


def shop(
    profile: str = "planted", mistakes: Iterable[str] | None = None, customers: int = SIZE, seed: int = 7
) -> dict[str, pd.DataFrame]:
    """The tables of a shop (cached: the same arguments, however passed, never generate twice)."""
    return _shop(profile, None if mistakes is None else tuple(mistakes), customers, seed)


@cache
def _shop(profile: str, mistakes: tuple[str, ...] | None, customers: int, seed: int) -> dict[str, pd.DataFrame]:
    return synth.generate(
        customers=customers, seed=seed, profile=profile, mistakes=None if mistakes is None else list(mistakes)
    )
