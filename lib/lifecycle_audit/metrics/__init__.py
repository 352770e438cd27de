"""Reusable measures over the canonical tables, each computed once per audit and shared by the checks."""
