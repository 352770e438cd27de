"""A shop that fixed some of its planted mistakes (`generate --fix`, `demo: {fix: [...]}` in params): the same
shop with exactly those mistakes left out."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lifecycle_audit import params, sources, synth
from lifecycle_audit.cli import app
from lifecycle_audit.errors import ParamsError
from lifecycle_audit.synth import mistakes
from tests.kit.small_runs import write_params


def test_fixed_mistakes_are_left_out_of_the_profile_and_the_rest_stay_planted():
    planted = mistakes.fixed("planted", None, ["irrelevant_offers", "slow_support"])
    assert set(planted) == set(mistakes.names()) - {"irrelevant_offers", "slow_support"}
    assert planted == [m for m in mistakes.names() if m in planted]  # in their declared order
    assert mistakes.fixed("planted", ["slow_support", "no_thank_you"], ["slow_support"]) == ["no_thank_you"]


def test_without_a_fix_the_mistakes_are_as_given():
    assert mistakes.fixed("planted", None, None) is None
    assert mistakes.fixed("healthy", ["slow_support"], []) == ["slow_support"]


@pytest.mark.parametrize(
    ("profile", "fix", "message"),
    [("planted", ["no_such_mistake"], "unknown mistake"), ("healthy", ["slow_support"], "not planted in this shop")],
)
def test_fixing_an_unknown_or_unplanted_mistake_is_an_error(profile, fix, message):
    with pytest.raises(ValueError, match=message):
        mistakes.fixed(profile, None, fix)


def test_generate_fix_writes_the_shop_without_those_mistakes(tmp_path, monkeypatch):
    seen = {}

    def fake_generate(folder, **kwargs):
        seen.update(kwargs)
        return {}

    monkeypatch.setattr(synth, "write_generated", fake_generate)
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--fix", "irrelevant_offers,slow_support"])
    assert result.exit_code == 0, result.output
    assert set(seen["mistakes"]) == set(mistakes.names()) - {"irrelevant_offers", "slow_support"}
    bad = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--fix", "typo"])
    assert bad.exit_code == 2 and "unknown mistake" in bad.output


def test_a_params_file_that_fixes_an_unknown_mistake_is_named_before_anything_is_generated(tmp_path):
    path = write_params(tmp_path, "fixing", demo={"customers": 200, "profile": "planted", "fix": ["typo"]})
    with pytest.raises(ParamsError, match=r"demo\.fix: unknown mistake\(s\) 'typo'"):
        sources.ensure_demo_data(params.load(path))
    assert not (tmp_path / "data").exists()
