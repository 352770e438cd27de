"""Leads: anonymous visitors who leave their e-mail, appended as customers whose sign-up visit starts
anonymous; with an offer (a first-order code in the welcome mail) they buy more often."""

from __future__ import annotations

import numpy as np

from .catalog import Catalog
from .clock import Clock
from .customers import Customers, customers
from .events import EVENT_FIELDS, Events, events
from .mistakes import Behaviour, declare
from .reach import first_touch
from .visits import SESSION_FIELDS, Sessions, sessions
from .vocab import EV

NO_LEAD_CAPTURE = declare(
    "no_lead_capture",
    order=11,
    checks=("acquisition.lead_capture",),
    does="no sign-up box and no carrot: anonymous visitors leave no e-mail (only buyers and the account "
    "sign-ups of first visits remain)",
    knobs={
        "lead_rate": (0.012, 0.0),  # share of anonymous non-buying sessions that end in a sign-up
        "lead_offer": (True, False),  # sign-ups get a first-order code (welcome mail "FLOW-welcome-offer")
    },
)


def _lead_customers(rng, clock: Clock, n_lead: int, beh: Behaviour) -> Customers:
    """The sign-ups: customers who opt in more often; with the code they are keener, without it less."""
    lc = customers(rng, clock, n_lead, beh)
    lc.acq = first_touch(rng, lc.acq, beh)
    lc.opt_in = rng.random(n_lead) < 0.85
    lc.segment = lc.opt_in & (rng.random(n_lead) < beh.segment_share)
    lc.lead = np.ones(n_lead, bool)
    lc.offer = lc.opt_in & beh.lead_offer  # the code comes with the welcome mail
    lc.visits = lc.visits * np.where(lc.offer, 0.8, 0.5)
    lc.intent = lc.intent * np.where(lc.offer, 2.2, 0.6)
    return lc


def _joined(cust: Customers, s: Sessions, ev: Events, lc: Customers, ls: Sessions, le: Events):
    """The shop's customers, sessions and events followed by the leads' (indexes shifted)."""
    n, S = len(cust.t0), len(s)
    ls.cust = ls.cust + n
    ls.anon = ls.anon + int(s.anon.max()) + 1
    cat_ = np.concatenate
    s2 = Sessions(
        *(cat_([getattr(s, f), getattr(ls, f)]) for f in SESSION_FIELDS),
        line_s=cat_([s.line_s, ls.line_s + S]),
        line_p=cat_([s.line_p, ls.line_p]),
        line_k=cat_([s.line_k, ls.line_k]),
    )
    ev2 = Events(
        cat_([ev.sidx, le.sidx + S]),
        *(cat_([getattr(ev, f), getattr(le, f)]) for f in (*EVENT_FIELDS, "cart_time", "buy_time")),
    )
    cust2 = Customers(**{f: cat_([getattr(cust, f), getattr(lc, f)]) for f in cust.__dataclass_fields__})
    return cust2, s2, ev2


def add_leads(rng, clock: Clock, cust: Customers, s: Sessions, ev: Events, cat: Catalog, beh: Behaviour):
    """Anonymous visitors who leave their e-mail (no_lead_capture): a share of the anonymous
    sessions ends in a sign-up; the sign-ups are appended as customers whose sign-up visit starts
    anonymous. With an offer (a first-order code in the welcome mail) they buy more often."""
    n_lead = int(rng.binomial(int((s.cust < 0).sum()), beh.lead_rate))
    if n_lead == 0:
        return cust, s, ev
    lc = _lead_customers(rng, clock, n_lead, beh)
    ls = sessions(rng, clock, lc, cat, beh, leads=True)
    le = events(rng, ls, cat, beh)
    su = le.etype == EV["sign_up"]
    lc.t0 = lc.t0.copy()
    lc.t0[ls.cust[le.sidx[su]]] = le.t[su]  # first seen at the sign-up
    return _joined(cust, s, ev, lc, ls, le)
