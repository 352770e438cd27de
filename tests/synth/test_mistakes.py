"""The planted mistakes: declared once each, found by their measure, and alone moving only their own.

The measures are registered next to the tests of the behaviour they read (tests/synth/measures.py);
the sweeps here iterate over the registry, so a new mistake's measure is added next to its test.
"""

from __future__ import annotations

import pytest

from lifecycle_audit import synth
from lifecycle_audit.checks import specs

from .measures import Measure, registered
from .shops import SIZE, shop


def _measure_all(t) -> dict[str, float]:
    return {name: m(t) for name, m in registered().items()}


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


# --------------------------------------------------------------------------------------------
# The declarations


def test_every_mistake_serves_real_checks():
    """Each mistake names declared checks, and every check has exactly one mistake planted for it
    (the accuracy test relies on this)."""
    catalogue = {s.id for s in specs()}
    served = [c for m in synth.declared() for c in m.checks]
    for m in synth.declared():
        assert m.checks and set(m.checks) <= catalogue, (m.name, m.checks)
    assert len(served) == len(set(served)), "a check served by two mistakes"
    assert {s.id for s in specs()} <= set(served)


def test_mistakes_keep_their_order():
    """MISTAKES comes from the declarations in their order (display and the accuracy test's random plans)."""
    assert tuple(m.name for m in synth.declared()) == synth.MISTAKES
    assert [m.order for m in synth.declared()] == list(range(1, len(synth.MISTAKES) + 1))
    assert synth.MISTAKES[:3] == ("weak_homepage", "unreminded_carts", "over_contacting")
    # a new mistake comes after the others: the existing ones keep their place (and the random plans theirs)
    assert synth.MISTAKES.index("no_channel_fallback") == 27


def test_each_mistake_turns_only_its_own_knobs():
    healthy = synth.Behaviour.of([]).knobs
    assert dict(synth.Behaviour.of(synth.MISTAKES).knobs).keys() == healthy.keys()
    for m in synth.declared():
        assert m.does and m.knobs, m.name
        turned = synth.Behaviour.of([m.name]).knobs
        changed = {k for k in healthy if turned[k] != healthy[k]}
        assert changed == set(m.knobs), (m.name, changed)


def test_no_unknown_knob():
    with pytest.raises(AttributeError, match="no knob"):
        _ = synth.Behaviour.of([]).no_such_knob


# --------------------------------------------------------------------------------------------
# The measures


def test_every_mistake_has_a_measure():
    assert set(registered()) == set(synth.MISTAKES)


@pytest.fixture(scope="module")
def healthy_measures():
    return _measure_all(shop("healthy", customers=SIZE))


def test_healthy_shop_is_good_on_every_measure(healthy_measures):
    bad = {k: v for k, v in healthy_measures.items() if registered()[k].is_bad(v)}
    assert not bad


def test_planted_shop_is_bad_on_every_measure():
    measured = _measure_all(shop("planted", customers=SIZE))
    good = {k: v for k, v in measured.items() if not registered()[k].is_bad(v)}
    assert not good


@pytest.mark.slow
@pytest.mark.parametrize("mistake", synth.MISTAKES)
def test_each_catalogue_mistake_alone_moves_only_its_own_measure(mistake):
    t = shop("healthy", mistakes=(mistake,), customers=SIZE)
    for name, measure in registered().items():
        value = measure(t)
        assert measure.is_bad(value) == (name == mistake), (mistake, name, value)


def _ranged() -> dict[str, Measure]:
    return {k: m for k, m in registered().items() if m.healthy and m.planted}


@pytest.mark.slow
@pytest.mark.parametrize("mistake", synth.MISTAKES)
def test_each_mistake_alone_moves_only_its_own_measure(mistake):
    """The measures with ranges stay in their healthy range unless their own mistake is planted."""
    t = shop("healthy", mistakes=(mistake,), customers=SIZE)
    assert _ranged()
    for name, measure in _ranged().items():
        value = measure(t)
        assert _in(value, measure.planted if name == mistake else measure.healthy), (mistake, name, value)
