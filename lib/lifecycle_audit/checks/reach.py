"""Reach: do the right people find the shop, through which channels, at what cost?"""

from __future__ import annotations
