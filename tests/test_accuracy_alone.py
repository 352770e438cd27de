"""Planted-mistake accuracy, one mistake at a time: each mistake alone (seed 1) is found by its check, and the
healthy shop fails no check. Apart from test_accuracy.py's random plans so the two sweeps, about two minutes
each, can run side by side (make test runs test files in two processes).
"""

from __future__ import annotations

import pytest

from lifecycle_audit import checks, findings, synth
from lifecycle_audit.engine import Tables
from tests.test_accuracy import CUSTOMERS, FOUND, mistake_of_check, money_at_stake_problems

MONEY: dict[str, list[findings.Finding]] = {}  # the healthy shop and the demo's profile, for the money property
# Sweeps of minutes: CI runs them (make test with CI set), make test-fast and a local make test do not; the same
# proof on one small shop is tests/checks/test_planted.py.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def single_mistake_shops():
    """For every mistake, the statuses of every check on a shop with that mistake alone (seed 1); and the
    healthy shop's."""
    specs = checks.specs()
    out = {}
    for mistake in (None, *synth.MISTAKES):
        tables = Tables.from_frames(
            synth.generate(customers=CUSTOMERS, seed=1, mistakes=[] if mistake is None else [mistake])
        )
        found = [findings.run_check(s, tables) for s in specs]
        if mistake is None:
            MONEY["healthy (seed 1)"] = found
        out[mistake] = {f.check_id: f.status for f in found}
    return out


@pytest.mark.e2e
def test_money_at_stake_on_the_healthy_shop_and_the_demos_profile(single_mistake_shops):
    """The demo's profile and seed (planted, seed 7) at the sweeps' size, and the healthy shop: the total at stake
    stays below the period's revenue and every figure names its rate and source (test_accuracy.py: 20 more)."""
    tables = Tables.from_frames(synth.generate(customers=CUSTOMERS, seed=7, profile="planted"))
    MONEY["demo profile (planted, seed 7)"] = [findings.run_check(s, tables) for s in checks.specs()]
    lines, problems = [], []
    for shop, found in MONEY.items():
        line, wrong = money_at_stake_problems(shop, found)
        lines.append(line)
        problems += wrong
    print("\nmoney at stake (failed and warning findings, overlaps counted once):")
    print("\n".join(lines))
    assert not problems, "\n".join(problems)


@pytest.mark.e2e
def test_each_mistake_alone_is_found_and_the_healthy_shop_fails_nothing(single_mistake_shops):
    mapping = mistake_of_check()
    healthy = single_mistake_shops[None]
    assert not [c for c, st in healthy.items() if st in ("fail", "error")], healthy
    for check_id, mistake in mapping.items():
        if check_id not in healthy:
            continue
        status = single_mistake_shops[mistake][check_id]
        assert status in FOUND, f"{check_id} on a shop with only {mistake} planted: {status}"
    errors = [(m, c) for m, statuses in single_mistake_shops.items() for c, st in statuses.items() if st == "error"]
    assert not errors, f"checks that raised instead of judging: {errors}"
