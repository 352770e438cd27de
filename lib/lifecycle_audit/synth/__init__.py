"""Deterministic demo shop: every contract table, with the planted mistakes switchable one by one.

How the shop works: customers arrive over the period (growing, with a Christmas peak) and come back now and
then (visits.py); anonymous visitors browse but never buy, and in a shop that asks for their e-mail about 1%
of their sessions end in a sign-up (leads.py). A session lands on a page, bounces or browses, may fill a
cart and check out (visits.py, events.py); every purchase event is an order (orders.py). Abandoned carts may
be reminded and bought in a later visit (carts.py). Marketing e-mail runs on a weekly grid; unsubscribes grow
with the week's contacts (marketing.py). Service mail, tickets, surveys, reviews, referrals and win-back
follow the orders (service.py, support.py, loyalty.py, winback.py).

The planted mistakes only change behaviour, never add a flag column. Each is declared once, in the module
that implements it (`mistakes.declare`): its name, the check(s) it serves, what the shop does wrong and the
healthy and planted values of the knobs it turns. MISTAKES lists them in their declared order.
"""

from __future__ import annotations

from .generate import CHUNK, chunks, generate, write_generated, write_shop
from .mistakes import PROFILES, Behaviour, Mistake, declared, names

MISTAKES: tuple[str, ...] = names()  # every behaviour module is imported by now (generate imports them)

__all__ = [
    "CHUNK",
    "MISTAKES",
    "PROFILES",
    "Behaviour",
    "Mistake",
    "chunks",
    "declared",
    "generate",
    "write_generated",
    "write_shop",
]
