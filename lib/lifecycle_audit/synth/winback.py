"""Win-back: mail to customers who stopped ordering, by post when e-mail cannot reach them."""

from __future__ import annotations

import numpy as np

from .after import Aftermath
from .clock import DAY, HOUR
from .marketing import alive
from .mistakes import declare
from .outbox import FLOW

UNNOTICED_CHURN = declare(
    "unnoticed_churn",
    order=25,
    checks=("winback.churn_risk",),
    does="the win-back flow only knows one-time buyers: repeat customers lapse unnoticed",
    knobs={
        "winback_repeaters": (True, False),  # the win-back flow also covers customers with several orders
    },
)
ENDLESS_WINBACK = declare(
    "endless_winback",
    order=26,
    checks=("winback.recontact_cutoff",),
    does="win-back mails every 30 days for two years instead of stopping after the second",
    knobs={
        "winback_days": ((90, 120), tuple(range(90, 731, 30))),  # days after the last order of the win-back mails
    },
)
NO_SUPPRESSION = declare(
    "no_suppression",
    order=27,
    checks=("winback.suppression",),
    does="win-back also goes to customers who did not pay or left a bad review",
    knobs={
        "suppress": (True, False),  # no win-back to defaulters and bad reviewers
    },
)
NO_CHANNEL_FALLBACK = declare(
    "no_channel_fallback",
    order=28,
    checks=("winback.channel_fallback",),
    does="lapsed customers without e-mail get nothing, though their postal address is known",
    knobs={
        "postal_fallback": (True, False),  # lapsed customers without e-mail get the win-back by post
    },
)


def winback(a: Aftermath, bad_review: np.ndarray) -> None:
    """Win-back 90 and 120 days after an order with no later order; never to customers who did not pay or
    left a bad review; by post when the e-mail is dead and an address known."""
    rng, cust, o, T, beh = a.rng, a.cust, a.o, a.clock.T, a.beh
    allowed = ~a.default[o.cust] & ~bad_review[o.cust] if beh.suppress else np.ones(len(o), bool)
    if not beh.winback_repeaters:
        allowed &= o.rank == 0
    for d in beh.winback_days:
        r = rng if d in (90, 120) else a.xrng
        t = o.t + d * DAY + r.integers(9 * HOUR, 11 * HOUR, len(o))
        due = allowed & (t < o.next_t) & (t < T)
        by_mail = due & cust.opt_in[o.cust] & alive(t, o.cust, a.dead)
        a.mail(o.cust[by_mail], "winback", t[by_mail], "FLOW-winback", p_open=0.22, p_click=0.08)
        if d == 90 and beh.postal_fallback:
            post = due & ~by_mail & a.postal[o.cust]
            tp = t[post] + 5 * DAY
            a.box.add(o.cust[post][tp < T], "winback", tp[tp < T], channel="postal", campaign=FLOW["FLOW-winback"])
