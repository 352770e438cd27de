"""Small vectorised helpers: positions in groups, grouped searches, random picks."""

from __future__ import annotations

import numpy as np


def within(counts: np.ndarray) -> np.ndarray:
    """Position of each row inside its group for np.repeat(groups, counts)."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)


def group_start(*keys: np.ndarray) -> np.ndarray:
    """True where a sorted run of equal keys starts."""
    n = len(keys[0])
    start = np.ones(n, dtype=bool)
    if n > 1:
        change = np.zeros(n - 1, dtype=bool)
        for k in keys:
            change |= k[1:] != k[:-1]
        start[1:] = change
    return start


def head(start: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's group, given where the groups start."""
    return np.maximum.accumulate(np.where(start, np.arange(len(start)), 0))


def rank_in_group(*keys: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal (sorted) keys."""
    start = group_start(*keys)
    return np.arange(len(start)) - head(start)


def search(g_ref, t_ref, g_q, t_q, after: bool) -> np.ndarray:
    """Per query, index into the ref arrays of the same group's last ref at or before t_q
    (after=False) or first ref strictly after t_q (after=True); -1 when there is none."""
    shift = np.int64(2**33)
    k_ref = g_ref.astype(np.int64) * shift + (t_ref + 2**32)
    order = np.argsort(k_ref, kind="stable")
    k_sorted = k_ref[order]
    k_q = g_q.astype(np.int64) * shift + (t_q + 2**32)
    pos = np.searchsorted(k_sorted, k_q, side="right") - (0 if after else 1)
    ok = (pos >= 0) & (pos < len(k_sorted))
    res = np.full(len(g_q), -1, dtype=np.int64)
    cand = order[pos[ok]]
    res[ok] = np.where(g_ref[cand] == g_q[ok], cand, -1)
    return res


def pick(rng, probs, n) -> np.ndarray:
    """n draws of an index into `probs` (weights, normalised here)."""
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / np.sum(probs))


def lognormal_s(rng, median_s: float, sigma: float, n: int, lo: float, hi: float) -> np.ndarray:
    """n durations in whole seconds around `median_s`, clipped to [lo, hi]."""
    return np.clip(rng.lognormal(np.log(median_s), sigma, n), lo, hi).astype(np.int64)
