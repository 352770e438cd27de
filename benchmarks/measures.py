"""The four heaviest measures of an audit, each computed twice on the same prepared tables: by the library
(lifecycle_audit.metrics through Ibis) and by hand-written DuckDB SQL, to time one against the other.

- sessions & funnel: funnel.by_device (identified visitors) and funnel.reach;
- abandoned carts: carts.carts (7 days) per device: carts, abandoned, left at the end of the visit, checkout reached,
  both sides from the sessions stored when the data was prepared (as a stage reads them) and the purchase events;
- contact frequency: contacts.by_band and contacts.weeks_by_band;
- cohorts: cohorts.retention_table, cohorts.lifecycle and cohorts.cohort_second_orders.

Each side starts from freshly opened tables (nothing derived is reused between repeats) and ends with the figures
in pandas; `compare` also says whether both sides gave the same figures. Both sides' DuckDB is held to the same
MEMORY and spills into the same kind of temporary folder beyond it, and each side's connections are closed before
the other side runs. Used by bench_scale.py; on its own:
`python benchmarks/measures.py <canonical tables folder> [repeats]`.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import psutil

from lifecycle_audit import engine
from lifecycle_audit.metrics import carts, cohorts, contacts, funnel, presence, stored

CART_WINDOW_DAYS = 7
MONTHS = 6
SECOND_ORDER_WINDOWS = (90, 180)


# The library.


def lib_funnel(t: engine.Tables) -> list[pd.DataFrame]:
    """funnel.by_device (identified visitors) and funnel.reach."""
    by = funnel.by_device(t, known_only=True)
    return [by[["device", "step", "sessions"]], funnel.reach(t)[["step", "sessions"]]]


def lib_carts(t: engine.Tables) -> list[pd.DataFrame]:
    """Per device: carts, abandoned, left at the end of the visit, reached checkout."""
    c = carts.carts(t, CART_WINDOW_DAYS)
    agg = c.group_by("device").aggregate(
        carts=c.count(), abandoned=c.abandoned.sum(), left=c.left.sum(), reached_checkout=c.reached_checkout.sum()
    )
    return [agg.order_by("device").to_pandas()]


def lib_contacts(t: engine.Tables) -> list[pd.DataFrame]:
    """contacts.by_band and contacts.weeks_by_band."""
    band = contacts.by_band(t)
    return [band[[c for c in band.columns if not c.endswith("_rate")]], contacts.weeks_by_band(t)]


def lib_cohorts(t: engine.Tables) -> list[pd.DataFrame]:
    """cohorts.retention_table, cohorts.lifecycle and cohorts.cohort_second_orders."""
    return [
        cohorts.retention_table(t, MONTHS),
        cohorts.lifecycle(t),
        cohorts.cohort_second_orders(t, SECOND_ORDER_WINDOWS),
    ]


# Hand-written DuckDB SQL.

# The whole sessions table the library builds (every column the checks use, not only the funnel's), in one pass:
# the landing row's page, channel and device by arg_min_null, the next event's time by min_by(..., 2).
SESSIONS = """
CREATE OR REPLACE TEMP TABLE s AS
SELECT session_id, coalesce(arg_min_null(page_type, event_time), 'other') AS landing,
  coalesce(arg_min_null(channel, event_time), 'unknown') AS channel,
  coalesce(arg_min_null(device, event_time), 'other') AS device, min(event_time) AS started_at,
  epoch(min_by(event_time, event_time, 2)[2]) - epoch(min(event_time)) AS seconds_to_next,
  max(customer_id) AS customer_id, coalesce(max(customer_id), max(anonymous_id), max(session_id)) AS visitor,
  count(*) AS events, max(event_time) AS ended_at, count(*) = 1 AS bounced,
  count(*) FILTER (WHERE event_type = 'product_view') AS pv, count(*) FILTER (WHERE event_type = 'add_to_cart') AS ac,
  count(*) FILTER (WHERE event_type = 'begin_checkout') AS bc, count(*) FILTER (WHERE event_type = 'purchase') AS pu,
  count(*) FILTER (WHERE event_type = 'sign_up') AS sign_ups
FROM events GROUP BY session_id
"""
STEP_COUNTS = """
  count(*) FILTER (WHERE pv > 0) AS "product view",
  count(*) FILTER (WHERE pv > 0 AND ac > 0) AS "add to cart",
  count(*) FILTER (WHERE pv > 0 AND ac > 0 AND bc > 0) AS "begin checkout",
  count(*) FILTER (WHERE pv > 0 AND ac > 0 AND bc > 0 AND pu > 0) AS "purchase"
"""
REACH = """
SELECT count(*) AS visit, count(*) FILTER (WHERE pv > 0) AS "product view", count(*) FILTER (WHERE ac > 0) AS "add to cart",
  count(*) FILTER (WHERE bc > 0) AS "begin checkout", count(*) FILTER (WHERE pu > 0) AS "purchase"
FROM s
"""


def sql_funnel(con: duckdb.DuckDBPyConnection, t: engine.Tables) -> list[pd.DataFrame]:
    """Sessions once, then the funnel per device and the reach of each step."""
    con.execute(SESSIONS)
    wide = con.sql(f"SELECT device, {STEP_COUNTS} FROM s WHERE customer_id IS NOT NULL GROUP BY device").df()
    long = wide.melt(id_vars="device", var_name="step", value_name="sessions")
    order = {s: i for i, s in enumerate(["product view", "add to cart", "begin checkout", "purchase"])}
    long = long.sort_values(["device", "step"], key=lambda c: c.map(order) if c.name == "step" else c)
    reach = con.sql(REACH).df().iloc[0]
    return [long.reset_index(drop=True), pd.DataFrame({"step": reach.index, "sessions": reach.to_numpy()})]


# The whole carts table the library builds (every column the cart checks use), then counted per device. Both sides
# start from the sessions stored when the data was prepared (metrics.stored: the carts are the sessions with an
# add-to-cart, their visitor and device the visit's), as a stage reads them; the purchases come from the events.
CARTS = f"""
CREATE OR REPLACE TEMP TABLE carts AS
WITH c AS (
  SELECT session_id, visitor, customer_id, device, cart_at, checkout_at, ended_at AS session_end,
    purchases > 0 AS bought_in_session, carts AS items
  FROM sessions WHERE carts > 0),
p AS (
  SELECT coalesce(customer_id, anonymous_id, session_id) AS visitor, event_time AS purchased_at
  FROM events WHERE event_type = 'purchase'
  {{orders}}),
j AS (
  SELECT c.*, CASE WHEN p.purchased_at <= c.cart_at + INTERVAL {CART_WINDOW_DAYS} DAY THEN p.purchased_at END AS bought_at
  FROM c ASOF LEFT JOIN p ON c.visitor = p.visitor AND p.purchased_at >= c.cart_at)
SELECT * REPLACE (coalesce(device, 'other') AS device), checkout_at IS NOT NULL AS reached_checkout,
  bought_at IS NULL AS abandoned, NOT bought_in_session AS "left"
FROM j
"""
BY_DEVICE = """
SELECT device, count(*) AS carts, count(*) FILTER (WHERE abandoned) AS abandoned,
  count(*) FILTER (WHERE "left") AS "left", count(*) FILTER (WHERE reached_checkout) AS reached_checkout
FROM carts GROUP BY device ORDER BY device
"""
CART_ORDERS = "UNION SELECT customer_id, order_time FROM orders WHERE customer_id IS NOT NULL"


def sql_carts(con: duckdb.DuckDBPyConnection, t: engine.Tables) -> list[pd.DataFrame]:
    """Carts from the stored sessions, the next purchase of the same visitor by an as-of join, counted per device."""
    con.execute(CARTS.format(orders=CART_ORDERS if t.has("orders") else ""))
    return [con.sql(BY_DEVICE).df()]


CONTACT_WEEKS = """
CREATE OR REPLACE TEMP TABLE w AS
SELECT customer_id, date_trunc('week', sent_at) AS week, least(count(*), 5) AS band,
  count(*) FILTER (WHERE channel = 'email') AS emails,
  count(*) FILTER (WHERE channel = 'email' AND unsubscribed_at IS NOT NULL) AS unsubscribes,
  count(*) FILTER (WHERE channel = 'email' AND complained_at IS NOT NULL) AS complaints
FROM messages WHERE message_type NOT IN ('transactional', 'thank_you') AND customer_id IS NOT NULL
GROUP BY customer_id, week
"""
BY_BAND = """
SELECT band, sum(emails) AS messages, sum(unsubscribes) AS unsubscribes, sum(complaints) AS complaints,
  count(*) AS customer_weeks, count(DISTINCT customer_id) AS customers
FROM w WHERE emails > 0 GROUP BY band ORDER BY band
"""


def sql_contacts(con: duckdb.DuckDBPyConnection, t: engine.Tables) -> list[pd.DataFrame]:
    """Contacts per customer-week once, then e-mails by band and customer-weeks by band."""
    con.execute(CONTACT_WEEKS)
    band = con.sql(BY_BAND).df()
    if not con.sql("SELECT count(complained_at) FROM messages").fetchone()[0]:
        band = band.drop(columns="complaints")
    weeks = con.sql("SELECT band, count(*) AS customer_weeks FROM w GROUP BY band ORDER BY band").df()
    weeks.insert(0, "contacts_per_week", weeks.pop("band").map(contacts.band_label))
    weeks["share"] = weeks["customer_weeks"] / weeks["customer_weeks"].sum()
    return [band, weeks]


BUYERS = """
CREATE OR REPLACE TEMP TABLE b AS
WITH o AS (SELECT customer_id, order_time FROM orders WHERE customer_id IS NOT NULL),
f AS (SELECT customer_id, min(order_time) AS first_at FROM o GROUP BY customer_id),
s AS (SELECT o.customer_id, min(o.order_time) AS second_at FROM o JOIN f USING (customer_id)
      WHERE o.order_time > f.first_at GROUP BY o.customer_id)
SELECT f.customer_id, f.first_at, s.second_at FROM f LEFT JOIN s USING (customer_id) {customers}
WHERE NOT coalesce(c.first_seen_at < $start, false)
  AND NOT (f.first_at < $warm AND NOT coalesce(c.first_seen_at >= $start AND c.first_seen_at < f.first_at, false))
"""
ACTIVE = """
CREATE OR REPLACE TEMP TABLE a AS
WITH a AS (SELECT DISTINCT customer_id, date_trunc('month', order_time) AS m FROM orders WHERE customer_id IS NOT NULL)
SELECT a.*, min(m) OVER (PARTITION BY customer_id) AS first_m FROM a
"""
RETENTION = f"""
SELECT first_m AS cohort, datediff('month', first_m, m) AS age, count(*) AS customers
FROM a SEMI JOIN b USING (customer_id) WHERE datediff('month', first_m, m) BETWEEN 1 AND {MONTHS}
GROUP BY ALL
"""
LIFECYCLE = """
WITH months AS (SELECT unnest(generate_series(min(m), max(m), INTERVAL 1 MONTH)) AS m FROM a),
x AS (
  SELECT a.m, a.first_m, b.customer_id IS NOT NULL AS buyer, p.customer_id IS NOT NULL AS had_prev FROM a
  LEFT JOIN b USING (customer_id)
  LEFT JOIN a p ON p.customer_id = a.customer_id AND p.m = a.m - INTERVAL 1 MONTH),
d AS (
  SELECT a.m + INTERVAL 1 MONTH AS m, count(*) AS dormant FROM a
  ANTI JOIN a n ON n.customer_id = a.customer_id AND n.m = a.m + INTERVAL 1 MONTH GROUP BY 1),
c AS (
  SELECT m, count(*) FILTER (WHERE first_m = m AND buyer) AS new, count(*) FILTER (WHERE had_prev) AS "returning",
    count(*) FILTER (WHERE NOT had_prev AND first_m < m) AS resurrecting
  FROM x GROUP BY m)
SELECT months.m, coalesce(new, 0) AS new, coalesce("returning", 0) AS "returning",
  coalesce(resurrecting, 0) AS resurrecting, coalesce(dormant, 0) AS dormant
FROM months LEFT JOIN c USING (m) LEFT JOIN d USING (m) ORDER BY months.m
"""
SECOND_ORDERS = """
SELECT date_trunc('month', first_at) AS month, count(*) AS new_customers,
  {rates}
FROM b GROUP BY 1 ORDER BY 1
"""


def sql_cohorts(con: duckdb.DuckDBPyConnection, t: engine.Tables) -> list[pd.DataFrame]:
    """First-time buyers, active months, then retention, lifecycle and second orders per cohort."""
    start, warm, end = _data_start(con, t), None, t.period[1]
    warm = con.sql("SELECT date_trunc('day', min(order_time)) FROM orders").fetchone()[0] + pd.Timedelta(
        days=int(t.warmup_days)
    )
    customers = (
        "LEFT JOIN customers c USING (customer_id)"
        if t.has("customers")
        else ", (SELECT NULL::TIMESTAMP first_seen_at) c"
    )
    con.execute(BUYERS.format(customers=customers), {"start": start, "warm": warm})
    con.execute(ACTIVE)
    return [_retention(con, end), _lifecycle(con), _second_orders(con, end)]


def _data_start(con: duckdb.DuckDBPyConnection, t: engine.Tables) -> pd.Timestamp:
    """The day of the first order or event (span.data_start), asked of the data as the library asks it."""
    events = "UNION ALL SELECT min(event_time) FROM events" if t.has("events") else ""
    q = f"SELECT date_trunc('day', min(x)) FROM (SELECT min(order_time) AS x FROM orders {events})"
    return pd.Timestamp(con.sql(q).fetchone()[0])


def _retention(con: duckdb.DuckDBPyConnection, end: pd.Timestamp) -> pd.DataFrame:
    counts = con.sql(RETENTION).df()
    size = con.sql(
        "SELECT first_m AS cohort, count(*) AS n FROM a SEMI JOIN b USING (customer_id) WHERE m = first_m GROUP BY 1"
    ).df()
    size = size.set_index(size["cohort"].dt.to_period("M"))["n"].sort_index()
    counts["cohort"] = counts["cohort"].dt.to_period("M")
    table = counts.pivot(index="cohort", columns="age", values="customers")
    table = table.reindex(index=size.index, columns=range(1, MONTHS + 1)).fillna(0).div(size, axis=0)
    for age in table.columns:
        table.loc[[(c + age).end_time >= end for c in table.index], age] = float("nan")
    table.insert(0, "new_customers", size)
    table.index = [str(c) for c in table.index]
    table.index.name = "month"
    table.columns = ["new_customers", *[f"month {a}" for a in range(1, MONTHS + 1)]]
    return table.reset_index()


def _lifecycle(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    wide = con.sql(LIFECYCLE).df()
    wide["month"] = wide.pop("m").dt.to_period("M").astype(str)
    long = wide.melt(id_vars="month", var_name="status", value_name="customers")
    long["status"] = pd.Categorical(long["status"], list(cohorts.LIFECYCLE), ordered=True)
    long = long.sort_values(["month", "status"]).reset_index(drop=True)
    long["status"] = long["status"].astype(str)
    return long


def _second_orders(con: duckdb.DuckDBPyConnection, end: pd.Timestamp) -> pd.DataFrame:
    rates = ", ".join(
        f"avg((second_at IS NOT NULL AND second_at - first_at <= INTERVAL {d} DAY)::INT) AS second_order_{d}d"
        for d in SECOND_ORDER_WINDOWS
    )
    out = con.sql(SECOND_ORDERS.format(rates=rates)).df()
    month = out["month"].dt.to_period("M")
    for d in SECOND_ORDER_WINDOWS:
        mature = [m.end_time + pd.Timedelta(days=d) <= end for m in month]
        out[f"second_order_{d}d"] = out[f"second_order_{d}d"].where(mature)
    out["month"] = month.astype(str)
    return out


MEASURES: dict[str, tuple[Callable, Callable]] = {
    "sessions & funnel": (lib_funnel, sql_funnel),
    "abandoned carts": (lib_carts, sql_carts),
    "contact frequency": (lib_contacts, sql_contacts),
    "cohorts": (lib_cohorts, sql_cohorts),
}


# Timing.

# The memory each side's DuckDB may use before it spills to disk (DuckDB takes up to 80 % of the machine by default).
# At 1,000,000 customers both sides build 18.6 M sessions: 7.3-7.8 GB each without a limit, above the 8 GB that
# `make bench` allows the measures' process; 4.1 GB (SQL) and 4.9 GB (library) with this one. It cannot be as low as
# the audit's 1 GB (workbook.KERNEL_MEMORY): the sessions' one-pass aggregate, which the audit avoids by storing
# them in parts (metrics.stored), cannot spill its states and needs 3.4 GB there. Below it (300 k: 2.7 GB) nothing
# spills and nothing changes.
MEMORY = "4GB"


# The measures whose inputs include the derived tables stored when the data was prepared, as a stage reads them.
FROM_STORED = frozenset({"abandoned carts"})


def open_tables(folder: Path, with_stored: bool = False) -> engine.Tables:
    """The canonical tables of a folder, freshly opened (nothing derived yet, or only the stored derived tables)."""
    t = engine.Tables.from_folder(folder)
    if with_stored:
        stored.attach(t, folder)
    return t


def open_sql(folder: Path) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB connection with a view per canonical table, and `sessions` over the stored sessions."""
    con = duckdb.connect()
    for f in sorted(folder.glob("*.parquet")):
        con.execute(f"CREATE VIEW {f.stem} AS SELECT * FROM read_parquet('{f}')")
    sessions = stored.stored_path(folder, "sessions")
    if sessions.is_file():
        con.execute(f"CREATE VIEW sessions AS SELECT * FROM read_parquet('{sessions}')")
    return con


def same(a: list[pd.DataFrame], b: list[pd.DataFrame]) -> bool:
    """Whether two lists of frames hold the same figures (column names, order of rows, values; dtypes aside)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        x, y = x.reset_index(drop=True), y.reset_index(drop=True)
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            return False
        try:
            pd.testing.assert_frame_equal(x, y, check_dtype=False, check_exact=False, rtol=1e-9)
        except AssertionError:
            return False
    return True


def cpu_seconds() -> float:
    """CPU seconds this process and its live children (Spark's JVM) have used so far, every thread (DuckDB's among
    them), user and system."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _timed(fn: Callable, *args) -> tuple[float, float, list[pd.DataFrame]]:
    """Wall seconds, CPU seconds and the result of fn(*args). The CPU seconds hardly change with the load of a
    shared machine, where the wall seconds include the time spent waiting for a core."""
    cpu, started = cpu_seconds(), time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, cpu_seconds() - cpu, out


def hold_memory(con: duckdb.DuckDBPyConnection, spill: str | Path) -> None:
    """Hold a DuckDB connection to MEMORY, spilling beyond it into `spill` (the same for both sides)."""
    con.execute(f"SET memory_limit = '{MEMORY}'")
    con.execute("SET temp_directory = '{}'".format(str(spill).replace("'", "''")))


def time_library(
    folder: Path, fn: Callable, with_stored: bool = False, spill: str | Path | None = None
) -> tuple[float, float, list[pd.DataFrame]]:
    """Wall and CPU seconds the library takes on fresh tables (held to MEMORY, spilling into `spill`, when given).
    The period and the messages' profile (presence: which columns are filled) are read before the clock starts: a
    run reads them once for every check's needs. The tables are let go and collected before returning: the tables
    the engine cached for them are dropped and the connection closed, so that nothing of them is still in memory
    when the other side runs (the engine drops a cached table when its last user is collected)."""
    t = open_tables(folder, with_stored)
    if spill is not None:
        hold_memory(t.con.con, spill)
    _ = t.period, presence.profile(t, "messages")
    out = _timed(fn, t)
    del t
    gc.collect()
    return out


def time_sql(folder: Path, fn: Callable, spill: str | Path | None = None) -> tuple[float, float, list[pd.DataFrame]]:
    """Wall and CPU seconds the hand-written SQL takes on a fresh connection (held to MEMORY, spilling into
    `spill`, when given; the period read beforehand, as for the library); the connections are closed before
    returning (nothing is cached on them)."""
    t = open_tables(folder)
    con = open_sql(folder)
    try:
        if spill is not None:
            hold_memory(con, spill)
        _ = t.period
        return _timed(fn, con, t)
    finally:
        con.close()
        t.con.disconnect()


def compare(folder: str | Path, repeats: int = 3, names: list[str] | None = None) -> dict[str, dict]:
    """Per measure: median wall seconds of the library and of the SQL over `repeats` runs (alternating), their
    median CPU seconds (`library_cpu`, `sql_cpu`), and whether both gave the same figures."""
    folder = Path(folder)
    stored.store(open_tables(folder), folder)  # as preparing the data does (nothing when a run stored them)
    out = {}
    for name in names or MEASURES:
        lib_fn, sql_fn = MEASURES[name]
        lib_s, sql_s, lib_cpu, sql_cpu = [], [], [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="measures-spill-") as spill:
                s, cpu, lib_out = time_library(folder, lib_fn, name in FROM_STORED, spill)
            lib_s.append(s)
            lib_cpu.append(cpu)
            with tempfile.TemporaryDirectory(prefix="measures-spill-") as spill:
                s, cpu, sql_out = time_sql(folder, sql_fn, spill)
            sql_s.append(s)
            sql_cpu.append(cpu)
        out[name] = {
            "library": statistics.median(lib_s),
            "sql": statistics.median(sql_s),
            "library_cpu": statistics.median(lib_cpu),
            "sql_cpu": statistics.median(sql_cpu),
            "same": same(lib_out, sql_out),
        }
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    result = compare(args[0], int(args[1]) if len(args) > 1 else 3, args[2:] or None)
    for name, m in result.items():
        print(
            f"{name:18} library {m['library']:6.2f} s  SQL {m['sql']:6.2f} s  ratio {m['library'] / m['sql']:.2f}×  "
            f"CPU {m['library_cpu']:6.2f} / {m['sql_cpu']:6.2f} s  ratio {m['library_cpu'] / m['sql_cpu']:.2f}×  "
            f"same: {m['same']}"
        )
