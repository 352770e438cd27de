"""The audited period: seconds since its start, a daily traffic curve, and the shared time units."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .vectors import pick

MIN, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
NA = -(2**62)  # "no time" in the int64 second arrays (times are seconds since the start)

HOUR_W = np.array(
    [
        0.6,
        0.35,
        0.2,
        0.15,
        0.15,
        0.25,
        0.6,
        1.2,
        1.8,
        2.2,
        2.4,
        2.6,
        3.0,
        2.9,
        2.6,
        2.5,
        2.6,
        2.9,
        3.3,
        3.9,
        4.3,
        4.2,
        3.2,
        1.6,
    ]
)


class Clock:
    """The audited period: seconds since `start`, with a daily traffic curve."""

    def __init__(self, end: str, months: int):
        if months < 1:
            raise ValueError("months must be at least 1")
        self.end_excl = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
        self.start = self.end_excl - pd.DateOffset(months=months)
        self.days = int((self.end_excl - self.start) / pd.Timedelta(days=1))
        self.T = self.days * DAY
        dates = pd.date_range(self.start, periods=self.days, freq="D")
        growth = 1.0 + np.arange(self.days) / self.days  # traffic doubles
        doy = dates.day_of_year.to_numpy()
        season = 1 + 0.6 * np.exp(-(((doy - 342) / 15.0) ** 2)) + 0.3 * np.exp(-(((doy - 331) / 3.0) ** 2))
        weekday = np.array([1.05, 1.0, 1.0, 0.98, 0.95, 0.92, 1.1])[dates.day_of_week]
        w = growth * season * weekday
        self.day_p = w / w.sum()
        self.monday0 = -int(self.start.weekday()) * DAY  # week grid anchor
        self.start_us = self.start.value // 1000

    def sample(self, rng, n: int) -> np.ndarray:
        """n visit times following growth, season, weekday and time of day."""
        day = rng.choice(self.days, size=n, p=self.day_p)
        return day * DAY + self.time_of_day(rng, n)

    @staticmethod
    def time_of_day(rng, n: int) -> np.ndarray:
        """n seconds into a day, following the hourly traffic curve."""
        return pick(rng, HOUR_W, n) * HOUR + rng.integers(0, HOUR, n)

    def ts(self, t: np.ndarray) -> np.ndarray:
        """Seconds since the start as datetime64[us] (NA -> NaT)."""
        t = np.asarray(t, dtype=np.int64)
        na = t == NA
        us = np.where(na, np.iinfo(np.int64).min, self.start_us + np.where(na, 0, t) * 1_000_000)  # min = NaT
        return us.view("datetime64[us]")
