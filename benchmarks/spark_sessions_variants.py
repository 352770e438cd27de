"""The sessions table built on Spark local in several ways, each timed on its own (a noop write: the query is the
cost), wall and CPU seconds (this process and Spark's JVM), and the JVM's peak resident memory so far.

    cd benchmarks && ../.venv/bin/python spark_sessions_variants.py FOLDER new,base,new,base [explain|check]

FOLDER holds a prepared shop (events.parquet). Variants: `new` (metrics.sessions as installed); `base` (the
sessions module of a former commit, written to $OLD_SESSIONS_DIR/old_sessions.py with its `from ..engine` import
made absolute, e.g. from `git show eefbc57:lib/lifecycle_audit/metrics/sessions.py`); and Spark SQL drafts:
`allwin` (one window, the landing values as the smallest struct over the rows at the first moment), `allwin_keys`
(one window ordered by time and the three tie-break keys), `allwin_part` (the counts in a second window operator),
`allwin_noland` (no landing values: a lower bound), `objhash` (one group-by: min over a struct, the sorted list of
the event times; a name ending in T raises the object hash aggregate's fallback threshold to 100 M keys).
`explain` prints the plans; `check` counts the rows of each variant missing from `base` and the other way round.
SPARKCONF="key=value ..." sets Spark settings; FINAL=1 runs the plan in the JVM and prints the final adaptive plan.
"""

import contextlib
import importlib
import os
import sys
import time

import psutil
from measures import cpu_seconds

from lifecycle_audit import engine
from lifecycle_audit.metrics import sessions as S

LAST = S.LAST  # an unrecorded value, sorting after every text
# The landing values from the smallest (page, channel, device) struct `_f`, unrecorded values named.
LANDED = (
    f"coalesce(nullif(_f.p, '{LAST}'), 'other') AS landing, "
    f"coalesce(nullif(_f.c, '{LAST}'), 'unknown') AS channel, "
    f"coalesce(nullif(_f.d, '{LAST}'), 'other') AS device"
)
# The per-session values every variant carries through unchanged, and the bounce they give.
CARRIED = (
    "customer_id, visitor, events, ended_at, product_views, carts, checkouts, purchases, sign_ups, cart_at, "
    "checkout_at, known_at, events = 1 AS bounced"
)
COLS = (
    "session_id, landing, channel, device, started_at, seconds_to_next, customer_id, visitor, events, ended_at, "
    "product_views, carts, checkouts, purchases, sign_ups, cart_at, checkout_at, known_at, bounced"
)

AGGS = """
  max(customer_id) {o} AS customer_id,
  coalesce(max(customer_id) {o}, max(anonymous_id) {o}, session_id) AS visitor,
  count(*) {o} AS events,
  max(event_time) {o} AS ended_at,
  count(CASE WHEN event_type = 'product_view' THEN 1 END) {o} AS product_views,
  count(CASE WHEN event_type = 'add_to_cart' THEN 1 END) {o} AS carts,
  count(CASE WHEN event_type = 'begin_checkout' THEN 1 END) {o} AS checkouts,
  count(CASE WHEN event_type = 'purchase' THEN 1 END) {o} AS purchases,
  count(CASE WHEN event_type = 'sign_up' THEN 1 END) {o} AS sign_ups,
  min(CASE WHEN event_type = 'add_to_cart' THEN event_time END) {o} AS cart_at,
  min(CASE WHEN event_type = 'begin_checkout' THEN event_time END) {o} AS checkout_at,
  min(CASE WHEN customer_id IS NOT NULL THEN event_time END) {o} AS known_at"""


def allwin():
    o = "OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    return f"""
SELECT {COLS} FROM (
SELECT session_id,
  {LANDED},
  event_time AS started_at,
  unix_timestamp(CAST(_next AS TIMESTAMP)) - unix_timestamp(CAST(event_time AS TIMESTAMP)) AS seconds_to_next,
  {CARRIED}
FROM (
SELECT session_id, event_time,
  row_number() OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST) AS _rn,
  lead(event_time) OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST) AS _next,
  min(named_struct('p', coalesce(page_type, '{LAST}'), 'c', coalesce(channel, '{LAST}'), 'd', coalesce(device, '{LAST}')))
    OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _f,
  {AGGS.format(o=o).replace("session_id) AS visitor", "session_id) AS visitor")}
FROM events) WHERE _rn = 1)"""


def allwin_keys():
    """Window ordered by time and the three tie-break keys; landing from the first row itself."""
    o = "OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST, _k1, _k2, _k3 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    w = "OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST, _k1, _k2, _k3)"
    return f"""
SELECT {COLS} FROM (
SELECT session_id,
  coalesce(page_type, 'other') AS landing,
  coalesce(ch, 'unknown') AS channel,
  coalesce(device, 'other') AS device,
  event_time AS started_at,
  unix_timestamp(CAST(_next AS TIMESTAMP)) - unix_timestamp(CAST(event_time AS TIMESTAMP)) AS seconds_to_next,
  {CARRIED}
FROM (
SELECT session_id, event_time, page_type, channel AS ch, device,
  row_number() {w} AS _rn,
  lead(event_time) {w} AS _next,
  {AGGS.format(o=o)}
FROM (SELECT *, coalesce(page_type, '{LAST}') AS _k1, coalesce(channel, '{LAST}') AS _k2, coalesce(device, '{LAST}') AS _k3 FROM events)) WHERE _rn = 1)"""


def allwin_part():
    """As allwin, the aggregates over the whole partition without an order (a second Window operator)."""
    return allwin().replace(
        "OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
        "OVER (PARTITION BY session_id)",
    )


def allwin_noland():
    """Lower bound: allwin without the landing struct."""
    return (
        allwin()
        .replace(
            """min(named_struct('p', coalesce(page_type, '{LAST}'), 'c', coalesce(channel, '{LAST}'), 'd', coalesce(device, '{LAST}')))""".replace(
                "{LAST}", LAST
            ),
            "named_struct('p', page_type, 'c', channel, 'd', device)",
        )
        .replace(
            "OVER (PARTITION BY session_id ORDER BY event_time ASC NULLS LAST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _f",
            "AS _f",
        )
    )


def objhash():
    return f"""
SELECT {COLS} FROM (
SELECT session_id,
  {LANDED},
  _f.t AS started_at,
  unix_timestamp(CAST(get(_ts, 1) AS TIMESTAMP)) - unix_timestamp(CAST(_f.t AS TIMESTAMP)) AS seconds_to_next,
  {CARRIED}
FROM (
SELECT session_id,
  min(named_struct('t', event_time, 'p', coalesce(page_type, '{LAST}'), 'c', coalesce(channel, '{LAST}'), 'd', coalesce(device, '{LAST}'))) AS _f,
  array_sort(collect_list(event_time)) AS _ts,
  {AGGS.format(o="")}
FROM events GROUP BY session_id))"""


def base(t):
    sys.path.insert(0, os.environ.get("OLD_SESSIONS_DIR", "/tmp/exp_ss"))
    old_sessions = importlib.import_module("old_sessions")
    return t.con.compile(old_sessions.session_rows(t))


def new(t):
    return t.con.compile(S.session_rows(t))


def main():
    t = engine.Tables.from_folder(sys.argv[1], backend="pyspark")
    spark = t.con._session
    t["events"].count().execute()
    for kv in os.environ.get("SPARKCONF", "").split():
        k, v = kv.split("=", 1)
        spark.conf.set(k, v)
    variants = {
        "base": lambda: base(t),
        "new": lambda: new(t),
        "allwin": allwin,
        "objhash": objhash,
        "allwin_keys": allwin_keys,
        "allwin_part": allwin_part,
        "allwin_noland": allwin_noland,
    }
    for name in sys.argv[2].split(","):
        thr = name.endswith("T")
        spark.conf.set("spark.sql.objectHashAggregate.sortBased.fallbackThreshold", "100000000" if thr else "128")
        sql = variants[name.rstrip("T")]()
        df = spark.sql(sql)
        if len(sys.argv) > 3 and sys.argv[3] == "explain":
            df.explain("formatted")
            continue
        if len(sys.argv) > 3 and sys.argv[3] == "check":
            ref = spark.sql(base(t))
            print(
                name,
                "rows",
                df.count(),
                ref.count(),
                "diff",
                df.exceptAll(ref).count(),
                ref.exceptAll(df).count(),
                flush=True,
            )
            continue
        w, c = time.perf_counter(), cpu_seconds()
        if os.environ.get("FINAL"):
            qe = df._jdf.queryExecution()
            qe.toRdd().count()
            print(qe.executedPlan().toString())
        else:
            df.write.format("noop").mode("overwrite").save()
        hwm = []
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(OSError), open(f"/proc/{p.pid}/status") as status:
                hwm += [line.split()[1] for line in status if line.startswith("VmHWM")]
        print(
            f"{name:10s} hwm {hwm} {time.perf_counter() - w:6.1f} s wall {cpu_seconds() - c:6.1f} cpu load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


main()
