"""Planted mistakes: each declared once, next to the behaviour it changes, as the knobs it turns.

A behaviour module declares its mistakes with `declare(...)`: the name, the check(s) of the audit it
serves, a line on what the shop does wrong and, per knob, the healthy and the planted value. The list of
mistakes (`names()`) and the knobs of a shop (`Behaviour.of(...)`) are derived from these declarations:
a new mistake touches its behaviour module (and its test), nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

PROFILES = ("planted", "healthy")


@dataclass(frozen=True)
class Mistake:
    """One planted mistake: the knobs it turns from their healthy to their planted value."""

    name: str
    order: int  # position in the list of mistakes (display, random plans)
    checks: tuple[str, ...]  # the audit's check(s) that should find it
    does: str  # what the shop does wrong, in one line
    knobs: Mapping[str, tuple]  # knob -> (healthy value, planted value)

    def healthy(self) -> dict[str, Any]:
        """The knob values of a shop without this mistake."""
        return {k: v[0] for k, v in self.knobs.items()}

    def planted(self) -> dict[str, Any]:
        """The knob values of a shop with this mistake."""
        return {k: v[1] for k, v in self.knobs.items()}


_DECLARED: dict[str, Mistake] = {}


def declare(name: str, *, order: int, checks: tuple[str, ...], does: str, knobs: Mapping[str, tuple]) -> Mistake:
    """Register a planted mistake (called once, from the module that implements it)."""
    if name in _DECLARED:
        raise ValueError(f"mistake {name!r} declared twice")
    taken = {k: m.name for m in _DECLARED.values() for k in m.knobs}
    shared = sorted(set(knobs) & set(taken))
    if shared:
        raise ValueError(f"mistake {name!r}: knob(s) {', '.join(shared)} already turned by another mistake")
    if any(m.order == order for m in _DECLARED.values()):
        raise ValueError(f"mistake {name!r}: order {order} already taken")
    mistake = Mistake(name, order, tuple(checks), does, MappingProxyType(dict(knobs)))
    _DECLARED[name] = mistake
    return mistake


def declared() -> tuple[Mistake, ...]:
    """Every declared mistake, in their order."""
    return tuple(sorted(_DECLARED.values(), key=lambda m: m.order))


def names() -> tuple[str, ...]:
    """The names of the declared mistakes, in their order."""
    return tuple(m.name for m in declared())


@dataclass(frozen=True)
class Behaviour:
    """The knobs of one shop: the healthy value of every knob, the planted one for the chosen mistakes.

    Knobs read as attributes (`beh.home_bounce`)."""

    knobs: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["knobs"][name]
        except KeyError:
            raise AttributeError(f"no knob {name!r}") from None

    @classmethod
    def of(cls, mistakes: Iterable[str]) -> Behaviour:
        """The shop with `mistakes` planted (names of declared mistakes)."""
        chosen = frozenset(mistakes)
        knobs: dict[str, Any] = {}
        for m in declared():
            knobs.update(m.planted() if m.name in chosen else m.healthy())
        return cls(MappingProxyType(knobs))


def resolve(profile: str, mistakes: Iterable[str] | None) -> frozenset:
    """The mistakes to plant: the profile's (planted: all, healthy: none) unless `mistakes` names them."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    every = names()
    if mistakes is None:
        return frozenset(every) if profile == "planted" else frozenset()
    if isinstance(mistakes, str):
        mistakes = [mistakes]
    chosen = frozenset(mistakes)
    unknown = sorted(chosen - set(every))
    if unknown:
        raise ValueError(f"unknown mistake(s) {', '.join(map(repr, unknown))}; valid mistakes: {', '.join(every)}")
    return chosen


def fixed(profile: str, mistakes: Iterable[str] | None, fix: Iterable[str] | None) -> list[str] | None:
    """The mistakes to plant in a shop that fixed `fix`: the profile's (or `mistakes`) without them, in their order.

    Without `fix`, `mistakes` as given (None: the profile decides). A name in `fix` that is not a declared mistake,
    or not planted in this shop, is a ValueError: a fix of nothing would make a comparison that shows nothing."""
    if not fix:
        return None if mistakes is None else list(mistakes)
    chosen = resolve(profile, mistakes)
    wanted = frozenset([fix] if isinstance(fix, str) else fix)
    unknown = sorted(wanted - set(names()))
    if unknown:
        raise ValueError(f"unknown mistake(s) {', '.join(map(repr, unknown))}; valid mistakes: {', '.join(names())}")
    absent = sorted(wanted - chosen)
    if absent:
        raise ValueError(f"mistake(s) {', '.join(map(repr, absent))} not planted in this shop: nothing to fix")
    return [m for m in names() if m in chosen - wanted]
