"""Each customer's first visit: one group-by (DuckDB) picks the visit a window ranks first, ties included."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import channels
from tests.kit import events, shop


def _first_visits(frames, monkeypatch, by_window: bool) -> pd.DataFrame:
    if by_window:
        monkeypatch.setattr(channels, "AGGREGATE_BACKENDS", frozenset())
    t = Tables.from_frames(frames)
    return channels.first_visits(t).to_pandas().sort_values("customer_id").reset_index(drop=True)


@pytest.mark.parametrize("by_window", [False, True])
def test_first_visit_is_the_earliest_and_of_two_at_one_moment_the_smaller_session_id(monkeypatch, by_window):
    ev = events(
        [
            # c1: two visits begin at the same moment; the later-numbered one is the busier
            dict(session_id="s2", customer_id="c1", channel="paid_search", event_type="page_view", minutes=0),
            dict(session_id="s2", customer_id="c1", channel="paid_search", event_type="purchase", minutes=5),
            dict(session_id="s1", customer_id="c1", channel="referral", event_type="page_view", minutes=0),
            dict(session_id="s0", customer_id="c1", channel="direct", event_type="page_view", days=1),
            # c2: the first visit has no channel recorded; an anonymous visit before it is not c2's
            dict(session_id="s4", anonymous_id="a1", channel="direct", event_type="page_view", days=-1),
            dict(session_id="s3", customer_id="c2", channel=None, event_type="page_view", hours=1),
            dict(session_id="s3", customer_id="c2", channel=None, event_type="page_view", hours=2),
        ],
    )
    fv = _first_visits({"events": ev}, monkeypatch, by_window)
    assert fv.to_dict("records") == [
        dict(session_id="s1", customer_id="c1", channel="referral", bounced=True, events=1, purchases=0),
        dict(session_id="s3", customer_id="c2", channel="unknown", bounced=False, events=2, purchases=0),
    ]


def test_first_visits_by_one_group_by_equal_those_a_window_ranks_on_a_generated_shop(monkeypatch):
    frames = shop(customers=600, seed=5)
    by_group = _first_visits(frames, monkeypatch, by_window=False)
    by_window = _first_visits(frames, monkeypatch, by_window=True)
    assert len(by_group) > 100
    pd.testing.assert_frame_equal(by_group, by_window, check_dtype=False)
