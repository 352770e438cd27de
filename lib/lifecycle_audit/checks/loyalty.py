"""Loyalty: are the best customers recognised, and do they recommend the shop?"""

from __future__ import annotations
