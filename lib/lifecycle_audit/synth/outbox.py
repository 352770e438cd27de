"""The outbox: every message the shop sends, collected as column arrays, and how e-mails are opened."""

from __future__ import annotations

import numpy as np

from .clock import DAY, HOUR, MIN, NA
from .vectors import lognormal_s
from .vocab import MC, MT

FLOWS = (
    "FLOW-welcome",
    "FLOW-cart-reminder",
    "FLOW-onboarding",
    "FLOW-review-request",
    "FLOW-winback",
    "FLOW-referral",
    "SURVEY-nps",
    "SURVEY-csat",
    "FLOW-welcome-offer",
    "CAMP-loyalty-gift",  # the tested campaigns (experiments.py)
    "CAMP-spring-sale",
)
FLOW = {f: i for i, f in enumerate(FLOWS)}


class Outbox:
    """Collects messages as column arrays; times in seconds, codes index the vocabularies."""

    def __init__(self):
        self.parts: list[dict] = []

    def add(
        self,
        cust,
        mtype,
        sent,
        channel="email",
        campaign=-1,
        category=-1,
        opened=None,
        clicked=None,
        unsub=None,
        complained=None,
        bounced=None,
    ):
        """mtype: a MESSAGE_TYPES name or an array of codes; bounced: bools, None for non-email."""
        n = len(cust)
        na = np.full(n, NA)

        def arr(x, fill):
            if x is None:
                return np.full(n, fill, dtype=np.int64)
            return np.broadcast_to(np.asarray(x, np.int64), (n,))

        self.parts.append(
            dict(
                cust=np.asarray(cust, np.int64),
                channel=arr(MC[channel], 0),
                campaign=arr(campaign, -1),
                mtype=arr(MT[mtype] if isinstance(mtype, str) else mtype, 0),
                category=arr(category, -1),
                sent=np.asarray(sent, np.int64),
                opened=na if opened is None else opened,
                clicked=na if clicked is None else clicked,
                unsub=na if unsub is None else unsub,
                complained=na if complained is None else complained,
                bounced=arr(bounced, -1),
            )
        )

    def frame(self) -> dict[str, np.ndarray]:
        """All messages so far, column by column."""
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


def engage(rng, sent, p_open, p_click, bounced, T):
    """Open and click times of e-mails (NA when not opened / clicked / bounced / after the end)."""
    n = len(sent)
    opened = ~bounced & (rng.random(n) < p_open)
    t_open = np.where(opened, sent + lognormal_s(rng, 2 * HOUR, 1.3, n, 30, 5 * DAY), NA)
    clicked = opened & (rng.random(n) < p_click)
    t_click = np.where(clicked, t_open + rng.integers(10, 10 * MIN, n), NA)
    t_open[t_open >= T] = NA
    t_click[(t_click >= T) | (t_open == NA)] = NA
    return t_open, t_click
