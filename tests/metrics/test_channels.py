"""Each customer's first visit: the earliest with their customer id, of two at one moment the smaller session id."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import channels
from tests.kit import events


def _first_visits(frames) -> pd.DataFrame:
    t = Tables.from_frames(frames)
    return channels.first_visits(t).to_pandas().sort_values("customer_id").reset_index(drop=True)


def test_first_visit_is_the_earliest_and_of_two_at_one_moment_the_smaller_session_id():
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
    fv = _first_visits({"events": ev})
    assert fv.to_dict("records") == [
        dict(session_id="s1", customer_id="c1", channel="referral", bounced=True, events=1, purchases=0),
        dict(session_id="s3", customer_id="c2", channel="unknown", bounced=False, events=2, purchases=0),
    ]
