"""The reference measures of the planted mistakes: one per mistake, registered next to its test.

A test module of tests/synth declares the measure of a mistake with `@measure(name, cut=..., bad=...)`:
plain pandas on the generated tables, written independently of the generator, as a check would take it.
`cut` separates a healthy shop from one with the mistake; `bad` says which side of it is bad. Optional
`healthy` and `planted` ranges pin the values more tightly. The generic tests (test_mistakes.py) iterate
over `registered()`, which imports every test module of this folder so that their measures are known
whichever tests run.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Measure:
    """A mistake's measure, its cut point and the side of it that is bad."""

    mistake: str
    fn: Callable[[Tables], float]
    cut: float
    bad: str  # "higher" or "lower"
    healthy: tuple[float, float] | None = None  # range on a healthy shop (and on other mistakes alone)
    planted: tuple[float, float] | None = None  # range with the mistake planted

    def __call__(self, t: Tables) -> float:
        return self.fn(t)

    def is_bad(self, value: float) -> bool:
        """The value lies on the bad side of the cut."""
        return value > self.cut if self.bad == "higher" else value < self.cut


_REGISTRY: dict[str, Measure] = {}


def measure(
    mistake: str,
    *,
    cut: float,
    bad: str,
    healthy: tuple[float, float] | None = None,
    planted: tuple[float, float] | None = None,
):
    """Register the decorated function as the reference measure of `mistake`."""
    if bad not in ("higher", "lower"):
        raise ValueError(f"bad must be 'higher' or 'lower', not {bad!r}")

    def register(fn: Callable[[Tables], float]) -> Callable[[Tables], float]:
        old = _REGISTRY.get(mistake)
        if old is not None and (old.fn.__module__, old.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"two measures of {mistake!r}: {old.fn.__qualname__} and {fn.__qualname__}")
        _REGISTRY[mistake] = Measure(mistake, fn, cut, bad, healthy, planted)
        return fn

    return register


def registered() -> dict[str, Measure]:
    """Every registered measure, by mistake (the test modules of this folder imported first)."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("test_"):
            importlib.import_module(f"{__package__}.{info.name}")
    return dict(_REGISTRY)
