"""What follows the orders, shared by service.py, support.py, loyalty.py and winback.py: who bought,
who did not pay, who gave a postal address, and how a service e-mail is sent."""

from __future__ import annotations

import numpy as np

from .clock import NA, Clock
from .customers import Customers
from .mistakes import Behaviour
from .orders import Orders
from .outbox import FLOW, Outbox, engage


class Aftermath:
    """The state the after-order steps share; `rng` draws what every profile has, `xrng` (a separate
    stream) what the added mistakes change, so switching one leaves the other draws alone."""

    def __init__(self, rng, clock: Clock, cust: Customers, orders: Orders, box: Outbox, dead, beh: Behaviour, xrng):
        self.rng, self.clock, self.cust, self.o, self.box, self.dead = rng, clock, cust, orders, box, dead
        self.beh, self.xrng = beh, xrng
        self.n = len(cust.t0)
        self.buyer = np.bincount(orders.cust, minlength=self.n) > 0
        self.default = self.buyer & (rng.random(self.n) < 0.04)  # did not pay
        self.postal = self.buyer | (rng.random(self.n) < 0.8)  # buyers gave an address

    def bounced(self, c, t):
        """The customer's e-mail address bounces at time t."""
        return (self.cust.dead_at[c] != NA) & (t >= self.cust.dead_at[c])

    def mail(self, c, mtype, t, flow=-1, category=-1, p_open=0.5, p_click=0.1):
        """E-mails sent before the end, with opens and clicks; flow: a name or campaign codes."""
        keep = t < self.clock.T
        c, t = c[keep], t[keep]
        category = category[keep] if np.ndim(category) else category
        campaign = FLOW[flow] if isinstance(flow, str) else (flow[keep] if np.ndim(flow) else flow)
        b = self.bounced(c, t)
        o, k = engage(self.rng, t, p_open, p_click, b, self.clock.T)
        self.box.add(c, mtype, t, campaign=campaign, category=category, opened=o, clicked=k, bounced=b)
