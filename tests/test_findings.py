"""A check's declaration meets the client's thresholds: typed options, and every mistake in them named."""

from __future__ import annotations

import pytest

from lifecycle_audit import checks, findings, params
from lifecycle_audit.errors import CheckError, ParamsError


def _params(thresholds: dict) -> params.Params:
    return params.from_dict({"client": "acme", "data_dir": "data/acme", "thresholds": thresholds}, "acme.yaml")


def test_options_are_the_declared_defaults_with_the_client_overrides_typed():
    spec = checks.get("conversion.cart_abandonment")
    o = findings.options(spec, {"poor": 0.9, "window_days": 3})
    assert isinstance(o, spec.options) and (o.good, o.poor) == (spec.good, 0.9)
    assert o.window_days == 3 and isinstance(o.window_days, int)
    assert findings.options(spec).min_carts == spec.options.model_fields["min_carts"].default


@pytest.mark.parametrize("thresholds, message", [
    ({"conversion.cart_abandonmnet": {"good": 0.5}}, "unknown check 'conversion.cart_abandonmnet'"),
    ({"conversion.cart_abandonment": {"god": 0.5}}, "unknown option(s) god"),
    ({"conversion.cart_abandonment": {"good": 0.9}}, "good < poor"),
    ({"conversion.cart_abandonment": {"window_days": 2.5}}, "window_days: Input should be a valid integer"),
])
def test_mistakes_in_thresholds_name_the_file_the_check_and_the_option(thresholds, message):
    with pytest.raises(ParamsError) as err:
        findings.check_thresholds(_params(thresholds))
    assert message in str(err.value) and "acme.yaml" in str(err.value)
    assert f"thresholds.{next(iter(thresholds))}" in str(err.value)


def test_good_thresholds_pass_and_an_unknown_option_stops_a_check_run():
    findings.check_thresholds(_params({"conversion.cart_abandonment": {"good": 0.5, "poor": 0.7, "window_days": 3}}))
    with pytest.raises(CheckError, match="this check takes: good, poor, window_days, min_carts"):
        findings.options(checks.get("conversion.cart_abandonment"), {"windows": 3})


def test_the_catalogue_is_read_from_the_declarations():
    specs = checks.specs()
    assert len({s.id for s in specs}) == len(specs) == len(checks.REGISTRY)
    stages_in_order = [s.stage for s in specs]
    assert stages_in_order == sorted(stages_in_order, key=["reach", "acquisition", "conversion", "retention",
                                                           "loyalty", "winback"].index)
    for spec in specs:
        assert spec.id.startswith(spec.stage + ".") and spec.fn is not None and spec.unit in checks.UNITS
        assert issubclass(spec.options, checks.Options)
        assert list(spec.defaults())[:2] == ["good", "poor"]


def test_the_report_lists_checks_in_the_order_of_the_mission():
    from tests.test_contract import MISSION

    if not MISSION.exists():
        pytest.skip("the mission text is not beside this checkout")
    import re

    ids = re.findall(r"^\| ([a-z_]+\.[a-z_]+) \|", MISSION.read_text(encoding="utf-8"), re.M)
    declared = [s.id for s in checks.specs()]
    assert [i for i in ids if i in declared] == declared
