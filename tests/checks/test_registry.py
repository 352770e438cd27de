"""The registry: declarations, overrides, and failures that become findings instead of crashes."""

import pytest

from lifecycle_audit.checks import catalogue, registry
from lifecycle_audit.errors import CheckError
from lifecycle_audit.findings import Evidence
from tests.kit import orders, tables


def test_every_implemented_check_is_in_the_catalogue_with_matching_stage_and_needs():
    planned = {p.id: p for p in catalogue.CATALOGUE}
    assert len(planned) == 29
    for spec in registry.specs():
        assert spec.id in planned, spec.id
        assert planned[spec.id].stage == spec.stage
        assert set(planned[spec.id].needs) == set(spec.needs), spec.id  # `checks` and data health print these
        assert spec.source and spec.advice and spec.title != spec.failure_title


def test_the_foundation_checks_are_implemented():
    ids = {s.id for s in registry.specs()}
    assert {"acquisition.homepage_value_proposition", "conversion.cart_abandonment",
            "conversion.abandoned_cart_recovery", "retention.over_contacting"} <= ids


def test_unknown_check_and_unknown_option_are_errors():
    with pytest.raises(CheckError, match="unknown check 'conversion.nope'"):
        registry.validate_options("conversion.nope", {})
    for planned in catalogue.not_built()[:1]:  # while the catalogue still has checks to build
        with pytest.raises(CheckError, match="not built yet"):
            registry.validate_options(planned.id, {})
    with pytest.raises(CheckError, match="unknown option.*goood.*takes: good, poor, window_days"):
        registry.validate_options("conversion.cart_abandonment", {"goood": 0.5})
    with pytest.raises(CheckError, match="good < poor"):
        registry.validate_options("conversion.cart_abandonment", {"good": 0.9})
    registry.validate_options("conversion.cart_abandonment", {"good": 0.5, "poor": 0.7, "window_days": 3})


def _spec(fn):
    return registry.CheckSpec(id="conversion.test", stage="conversion", title="ok", failure_title="bad",
                              needs=("orders",), better="lower", good=1, poor=2, unit="count", source="test",
                              description="", advice=("do",), fn=fn)


def _tables():
    return tables(orders=orders(dict(order_id="1", revenue=1.0)))


def test_an_exception_in_a_check_becomes_an_error_finding():
    def broken(tables, o):
        raise ZeroDivisionError("boom")

    f = registry.run_check(_spec(broken), _tables())
    assert f.status == "error" and f.score is None and "ZeroDivisionError: boom" in f.reason


def test_thin_data_is_not_run_with_the_reason_and_scores_use_overrides():
    def thin(tables, o):
        raise registry.NotEnoughData("needs at least 50 orders; found 1")

    f = registry.run_check(_spec(thin), _tables())
    assert f.status == "not_run" and f.reason == "needs at least 50 orders; found 1"

    def three(tables, o):
        return Evidence(value=3.0)

    assert registry.run_check(_spec(three), _tables()).status == "fail"
    overridden = registry.run_check(_spec(three), _tables(), {"good": 3, "poor": 6})
    assert overridden.status == "pass" and overridden.score == 90 and overridden.title == "ok"


def test_a_missing_table_means_not_run():
    f = registry.run_check(_spec(lambda t, o: Evidence(value=1.0)), tables())
    assert f.status == "not_run" and "orders" in f.reason
