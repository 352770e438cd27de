"""Sessions by channel and by landing page: counts and bounce rates on visits where the answer is known."""

from __future__ import annotations

import pytest

from lifecycle_audit.metrics import sessions
from tests.kit import events, tables


def _visits():
    # s1, s2: one page each from search (bounced); s3: two pages from e-mail; s4: one page, channel not recorded
    ev = events(
        session_id=["s1", "s2", "s3", "s3", "s4"],
        anonymous_id=["a1", "a2", "a3", "a3", "a4"],
        channel=["organic_search", "organic_search", "email", "email", None],
        page_type=["home", "product", "product", "cart", None],
        event_type=["page_view", "page_view", "page_view", "add_to_cart", "page_view"],
        minutes=[0, 10, 20, 21, 30],
    )
    return tables(events=ev)


def test_by_channel_counts_sessions_and_bounces_largest_first():
    out = sessions.by_channel(_visits())
    assert list(out["channel"]) == ["organic_search", "email", "unknown"]
    assert list(out["sessions"]) == [2, 1, 1]
    assert list(out["bounce_rate"]) == pytest.approx([1.0, 0.0, 1.0])


def test_by_landing_counts_the_page_type_each_visit_started_on():
    out = sessions.by_landing(_visits()).set_index("landing")
    assert out.loc["product", "sessions"] == 2 and out.loc["product", "bounce_rate"] == pytest.approx(0.5)
    assert out.loc["home", "sessions"] == 1 and out.loc["other", "sessions"] == 1  # not recorded: "other"
    assert out["sessions"].sum() == 4
