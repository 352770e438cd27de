"""Order cohorts: each customer's first and second order, who of them are first-time buyers, monthly cohort
retention, and the monthly lifecycle split of customers into new, returning, resurrecting and dormant.

First-time buyers: a customer's first order in the data is taken as their first purchase only when the data
can carry that claim. It cannot for customers who signed up before the data begins (customers.first_seen_at
before the day of the first order or event, span.data_start), nor for customers whose first order falls in the
warm-up at the start of the orders (params period.warmup_days, 30 days from the first order's day by default)
unless the customers table shows them arriving inside the data before that order (first_seen_at on or after
the data's first day and earlier than the first order; a first_seen_at derived from the orders equals the
first order and proves nothing). Every check that
speaks of first-time buyers, new customers' second orders or the time to a first purchase takes them from
`first_time_buyers`; `left_censored` counts the others for the data-health page.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from . import span

LIFECYCLE = ("new", "returning", "resurrecting", "dormant")


def first_order_rows(tables: Tables):
    """first_orders as an expression over the orders, not yet computed (metrics.stored writes it to Parquet).

    One pass with a window (each order beside its customer's first) instead of grouping the orders twice and
    joining them back: the same rows, a smaller expression to compile and one join fewer to run."""
    o = tables["orders"]
    o = o.filter(o.customer_id.notnull())
    o = o.select("customer_id", "order_time", first=o.order_time.min().over(group_by=o.customer_id))
    return o.group_by("customer_id").aggregate(
        first_at=o.order_time.min(), orders=o.count(), second_at=o.order_time.min(where=o.order_time > o.first)
    )


def first_orders(tables: Tables):
    """One row per ordering customer: `first_at` (first order), `second_at` (the next order at a later
    time, null when none) and `orders` (how many). Not computed on its own: first_purchases, its one user, is
    (unless prepare stored it, metrics.stored)."""
    return tables.derived("first_orders", first_order_rows)


SIGNED_UP_BEFORE = "signed up before the data"
FIRST_ORDER_IN_WARMUP = "first order in the warm-up"


def _first_purchases(tables: Tables):
    f = first_orders(tables)
    start, warm = span.data_start(tables), span.warmup_end(tables)
    if start is None:
        return f.mutate(censored=ibis.null(str))
    if tables.has("customers"):
        f = f.left_join(tables["customers"].select("customer_id", "first_seen_at"), "customer_id")
        seen = f.first_seen_at
    else:
        seen = ibis.null("timestamp")
    arrived_inside = seen.notnull() & (seen >= start) & (seen < f.first_at)
    censored = ibis.cases(
        (seen.notnull() & (seen < start), SIGNED_UP_BEFORE),
        ((f.first_at < warm) & ~arrived_inside, FIRST_ORDER_IN_WARMUP),
        else_=ibis.null(str),
    )
    return f.select("customer_id", "first_at", "orders", "second_at", censored=censored).cache()


def first_purchases(tables: Tables):
    """first_orders with `censored`: null for a first-time buyer, else why the first order in the data may not
    be the customer's first purchase (SIGNED_UP_BEFORE, FIRST_ORDER_IN_WARMUP); see the module's docstring."""
    return tables.derived("first_purchases", _first_purchases)


def first_time_buyers(tables: Tables):
    """The customers whose first order in the data is their first purchase: customer_id, first_at, second_at,
    orders (as first_orders). The one definition every check of first purchases uses."""
    f = first_purchases(tables)
    return f.filter(f.censored.isnull()).drop("censored")


def first_time_buyer_count(tables: Tables) -> int:
    """How many first-time buyers there are (first_time_buyers)."""
    return int(first_time_buyers(tables).count().to_pandas())


def left_censored_count(tables: Tables) -> int:
    """How many ordering customers are not counted as first-time buyers (left-censored)."""
    f = first_purchases(tables)
    return int(f.filter(f.censored.notnull()).count().to_pandas())


def left_censored(tables: Tables) -> pd.DataFrame:
    """Ordering customers by whether they count as first-time buyers: reason, customers, share (for stage 0)."""
    f = first_purchases(tables)
    by = f.group_by("censored").aggregate(customers=f.count()).to_pandas()
    total = int(by["customers"].sum())
    counts = {None if pd.isna(r) else r: int(n) for r, n in zip(by["censored"], by["customers"], strict=True)}
    rows = [
        ("first-time buyers", counts.get(None, 0)),
        (FIRST_ORDER_IN_WARMUP, counts.get(FIRST_ORDER_IN_WARMUP, 0)),
        (SIGNED_UP_BEFORE, counts.get(SIGNED_UP_BEFORE, 0)),
    ]
    out = pd.DataFrame(rows, columns=["customers_counted_as", "customers"])
    out["share"] = out["customers"] / total if total else float("nan")
    return out


def second_order_rate(tables: Tables, days: int) -> tuple[float | None, int]:
    """Share of customers whose first order is at least `days` before the end of the period with a second
    order within `days` of the first; and how many such customers there are."""
    _, end = tables.period
    f = first_time_buyers(tables)
    f = f.filter(f.first_at <= end - pd.Timedelta(days=days))
    row = (
        f.aggregate(
            n=f.count(), back=(f.second_at.notnull() & (f.second_at <= f.first_at + pd.Timedelta(days=days))).sum()
        )
        .to_pandas()
        .iloc[0]
    )
    n = int(row["n"])
    return (int(row["back"] or 0) / n if n else None), n


def cohort_second_orders(tables: Tables, windows: tuple[int, ...] = (90, 180)) -> pd.DataFrame:
    """Per month of first order: new customers and the share who ordered again within each window
    (`second_order_<days>d`; missing until every customer of the cohort is older than the window)."""
    _, end = tables.period
    f = first_time_buyers(tables)
    agg = {"new_customers": f.count()}
    for d in windows:
        back = f.second_at.notnull() & (f.second_at <= f.first_at + ibis.interval(days=d))
        agg[f"second_order_{d}d"] = back.mean()
    out = f.group_by(month=f.first_at.truncate("M")).aggregate(**agg).order_by("month").to_pandas()
    month = pd.to_datetime(out["month"]).dt.to_period("M")
    for d in windows:
        mature = [m.end_time + pd.Timedelta(days=d) <= end for m in month]
        out[f"second_order_{d}d"] = out[f"second_order_{d}d"].astype("float64").where(mature)
    out["new_customers"] = out["new_customers"].astype("int64")
    out["month"] = month.astype(str)
    return out


def _active_months(tables: Tables):
    o = tables["orders"]
    o = o.filter(o.customer_id.notnull())
    a = o.select("customer_id", m=o.order_time.year() * 12 + o.order_time.month() - 1).distinct()
    # every customer with an order has a first purchase: the inner join keeps every row
    a = a.join(first_purchases(tables).select("customer_id", "censored"), "customer_id")
    by_month = {"group_by": a.customer_id, "order_by": a.m}
    return a.select(
        "customer_id",
        "m",
        first_m=a.m.min().over(group_by=a.customer_id),
        prev_m=a.m.lag().over(**by_month),
        next_m=a.m.lead().over(**by_month),
        buyer=a.censored.isnull(),
    ).cache()


def active_months(tables: Tables):
    """One row per customer and month with an order of theirs: `m`, the customer's first, previous and next
    months with an order (`first_m`, `prev_m`, `next_m`; null when none) as month numbers (year × 12 + month - 1;
    month_period turns one into a month), and whether the customer is a first-time buyer (`buyer`,
    first_time_buyers). The neighbouring months tell the lifecycle without joining the table to itself."""
    return tables.derived("active_months", _active_months)


def month_period(m: int) -> pd.Period:
    """A month number of active_months as a pandas month."""
    return pd.Period(year=int(m) // 12, month=int(m) % 12 + 1, freq="M")


def month_periods(m) -> pd.PeriodIndex:
    """Month numbers of active_months as pandas months, all at once (month_period one by one costs 20 µs each)."""
    return pd.PeriodIndex.from_ordinals(pd.Index(m, dtype="int64") - 1970 * 12, freq="M")


def _cohort_months(tables: Tables) -> pd.DataFrame:
    a = active_months(tables)
    counts = a.group_by("first_m", "m").aggregate(
        buyers=a.count(where=a.buyer),
        returning=a.count(where=a.prev_m == a.m - 1),
        resurrecting=a.count(where=a.prev_m < a.m - 1),
        leaving=a.count(where=a.next_m.isnull() | (a.next_m > a.m + 1)),
    )
    return counts.to_pandas()


def cohort_months(tables: Tables) -> pd.DataFrame:
    """Per first month with an order (`first_m`) and month with an order (`m`), of the customers who ordered
    that month: first-time buyers (`buyers`), who ordered the month before (`returning`), who ordered earlier but
    not the month before (`resurrecting`) and who do not order the month after (`leaving`). A few hundred rows
    from one query, which the retention table and the lifecycle both read (not to be modified)."""
    return tables.derived("cohort_months", _cohort_months)


def retention_table(tables: Tables, months: int = 6) -> pd.DataFrame:
    """The monthly cohort retention table: per month of first order, the share of the cohort that ordered
    in each of the following `months` months ("on" that month, as in PostHog); missing where the month has
    not ended yet. The cohorts are first-time buyers (first_time_buyers)."""
    _, end = tables.period
    c = cohort_months(tables)
    age = c["m"] - c["first_m"]
    keep = (c["buyers"] > 0) & (age <= months)  # age 0: the cohort's own month, every customer of it
    counts = pd.DataFrame(
        {"cohort": month_periods(c["first_m"][keep]), "age": age[keep].to_numpy(), "n": c["buyers"][keep].to_numpy()}
    )
    first = counts[counts["age"] == 0]
    size = first.set_index("cohort")["n"].astype("int64").sort_index()
    counts = counts[counts["age"] > 0].pivot(index="cohort", columns="age", values="n")
    counts = counts.reindex(index=size.index, columns=range(1, months + 1)).fillna(0)
    table = counts.div(size, axis=0)
    for age in table.columns:  # a cohort's month `age` is only known once that month has ended
        table.loc[(table.index + age).end_time >= end, age] = float("nan")
    table.insert(0, "new_customers", size)
    table.index = [str(c) for c in table.index]
    table.index.name = "month"
    table.columns = ["new_customers", *[f"month {a}" for a in range(1, months + 1)]]
    return table.reset_index()


def lifecycle(tables: Tables) -> pd.DataFrame:
    """Per month, customers who were new (first order that month), returning (ordered that month and the
    month before), resurrecting (ordered that month, not the month before, but earlier) and dormant
    (ordered the month before but not that month). Long format: month, status, customers. Only first-time buyers
    (first_time_buyers) are new; a customer left out of them is in no group in the month of their first order."""
    c = cohort_months(tables)
    if c.empty:  # no order with a customer: no month
        return pd.DataFrame([], columns=["month", "status", "customers"])
    # from the first to the last month with an order
    months = pd.RangeIndex(int(c["m"].min()), int(c["m"].max()) + 1)
    per = c.groupby("m")[["returning", "resurrecting", "leaving"]].sum()
    wide = pd.DataFrame(
        {
            "new": c.loc[c["m"] == c["first_m"]].groupby("m")["buyers"].sum().reindex(months, fill_value=0),
            "returning": per["returning"].reindex(months, fill_value=0),
            "resurrecting": per["resurrecting"].reindex(months, fill_value=0),
            # dormant: ordered the month before, not this one
            "dormant": per["leaving"].reindex(months - 1, fill_value=0).to_numpy(),
        },
        index=months,
    )[list(LIFECYCLE)]
    labels = month_periods(months).astype(str)
    return pd.DataFrame(
        {
            "month": [label for label in labels for _ in LIFECYCLE],
            "status": list(LIFECYCLE) * len(months),
            "customers": wide.to_numpy(dtype="int64").ravel(),
        }
    )
