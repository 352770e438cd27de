"""Shared test settings: plots draw off-screen, the project root is this checkout."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
