"""How a check declares itself: what the declaration refuses, and what every declared check carries."""

import pytest

from lifecycle_audit import checks, i18n
from lifecycle_audit.checks import Evidence, Options, check
from lifecycle_audit.errors import CheckError


def test_every_declared_check_carries_what_the_report_shows():
    for spec in checks.specs():
        assert spec.source and spec.advice and spec.description and spec.title != spec.failure_title, spec.id
        assert spec.needs and spec.better in ("lower", "higher"), spec.id


def test_the_foundation_checks_are_declared():
    ids = {s.id for s in checks.specs()}
    assert {
        "acquisition.homepage_value_proposition",
        "conversion.cart_abandonment",
        "conversion.abandoned_cart_recovery",
        "retention.over_contacting",
    } <= ids


def _declare(**changes):
    kw = dict(
        id="conversion.test_only",
        stage="conversion",
        title="ok",
        failure_title="bad",
        needs=("orders",),
        better="lower",
        good=1,
        poor=2,
        unit="count",
        source="test",
        description="",
        advice=("do",),
    )
    kw.update(changes)
    return check(**kw)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"stage": "checkout"}, "unknown stage 'checkout'"),
        ({"id": "reach.test_only"}, "starts with its stage (conversion.)"),
        ({"unit": "euros"}, "unknown unit 'euros'"),
        ({"good": 3}, "good < poor"),
        ({"options": dict}, "subclass of checks.Options"),
    ],
)
def test_a_declaration_that_does_not_fit_is_refused(changes, message):
    with pytest.raises((CheckError, ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        _declare(**changes)


def test_a_check_declared_twice_and_a_label_given_two_ways_are_refused():
    with pytest.raises(CheckError, match="declared twice"):
        _declare(id="conversion.cart_abandonment")(lambda t, o: Evidence(value=1.0))
    with pytest.raises(ValueError, match="the column 'customers' is labelled"):
        _declare(columns={"customers": "Shoppers"})


def test_declared_labels_join_the_report_vocabulary():
    spec = checks.get("conversion.cart_abandonment")
    assert spec.options is not Options and "min_carts" in spec.option_names
    assert i18n.column("abandonment") == "Abandonment rate"
    assert i18n.column("abandonment", "de") != "Abandonment rate"
