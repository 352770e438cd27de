"""Codes of the contract's vocabularies (index into its tuples; -1 means null) and the shop's channels."""

from __future__ import annotations

import numpy as np

from ..contract import CHANNELS, EVENT_TYPES, MESSAGE_CHANNELS, MESSAGE_TYPES, PAGE_TYPES

CH = {c: i for i, c in enumerate(CHANNELS)}
EV = {e: i for i, e in enumerate(EVENT_TYPES)}
PG = {p: i for i, p in enumerate(PAGE_TYPES)}
MC = {c: i for i, c in enumerate(MESSAGE_CHANNELS)}
MT = {t: i for i, t in enumerate(MESSAGE_TYPES)}

# The channels in the order of the mixes below and of LANDING_MIX's rows (None: unknown).
CH_ORDER = (
    "organic_search",
    "paid_search",
    "paid_social",
    "organic_social",
    "email",
    "referral",
    "direct",
    "affiliate",
    "display",
    None,
)
CH_CODES = np.array([CH[c] if c else -1 for c in CH_ORDER])
ACQ_MIX = [0.23, 0.17, 0.12, 0.07, 0.03, 0.06, 0.15, 0.06, 0.07, 0.04]  # first touch of customers
ANON_MIX = [0.28, 0.16, 0.16, 0.08, 0.01, 0.02, 0.14, 0.05, 0.07, 0.03]  # visitors who never sign up
RETURN_MIX = [0.22, 0.10, 0.05, 0.05, 0.16, 0.01, 0.31, 0.04, 0.03, 0.03]  # customers coming back
PAID = ("paid_search", "paid_social", "display", "affiliate")
PAID_CODES = np.array([CH[p] for p in PAID])
DEVICE_MIX = [0.38, 0.55, 0.06, 0.01]  # desktop, mobile, tablet, other
