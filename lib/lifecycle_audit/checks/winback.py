"""Win-back: who is slipping away, who is worth winning back, and when to stop?"""

from __future__ import annotations
