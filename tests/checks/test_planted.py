"""Every check against the generator's planted mistakes, on a small shop: the healthy shop fails no check, and each
mistake planted alone makes the checks it is declared for fail or warn.

The same proof as tests/test_accuracy_alone.py at a size make test can afford (2,000 customers; the sweeps at
5,000 customers and over 20 random plans are marked slow and run in CI). Only a mistake's own checks run on its
shop here; whether a mistake raises false alarms elsewhere is the 20-seed sweep's question.
"""

from __future__ import annotations

import pytest

from lifecycle_audit import checks, findings, synth
from tests.kit import shop, tables

pytestmark = pytest.mark.heavy  # one 2,000-customer shop per planted mistake: make test, not test-fast

CUSTOMERS, SEED = 2000, 3
FOUND = ("fail", "warn")


def checks_of(mistake: str) -> list[str]:
    """The checks a planted mistake is declared for (synth: `checks=` of its declaration)."""
    return [c for m in synth.declared() if m.name == mistake for c in m.checks]


def test_every_check_has_a_planted_mistake():
    planted_for = {c for m in synth.declared() for c in m.checks}
    assert [s.id for s in checks.specs() if s.id not in planted_for] == []


def test_the_healthy_shop_fails_no_check():
    healthy = tables(**shop("healthy", CUSTOMERS, SEED))
    statuses = {s.id: findings.run_check(s, healthy).status for s in checks.specs()}
    assert {c: st for c, st in statuses.items() if st in ("fail", "error")} == {}
    assert list(statuses.values()).count("pass") >= len(statuses) // 2, statuses  # judged, not merely not run


@pytest.mark.parametrize("mistake", sorted(synth.MISTAKES))
def test_a_mistake_planted_alone_is_found_by_its_checks(mistake):
    own = checks_of(mistake)
    assert own, f"{mistake} is declared for no check"
    t = tables(**shop("healthy", CUSTOMERS, SEED, mistakes=[mistake]))
    statuses = {c: findings.run_check(checks.get(c), t).status for c in own}
    assert {c: st for c, st in statuses.items() if st not in FOUND} == {}
