"""Support measures: per ticket, how fast it was answered and resolved, how often it was passed on,
and whether the customer ordered again; per low survey score, whether anyone followed it up."""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables

# Groups of time to first response, in the order the report shows them (TERMS words).
RESPONSE_GROUPS = ("within 1 h", "1–4 h", "4–12 h", "12–24 h", "after 24 h", "no response")


def _hours(later, earlier):
    # in floats on every backend: Spark reads the literal 3600.0 as a decimal and would round the hours to 6 places
    return (later.epoch_seconds() - earlier.epoch_seconds()).cast("float64") / 3600


def tickets(tables: Tables, churn_days: int = 180) -> pd.DataFrame:
    """One row per ticket: response_hours, resolution_hours, handoffs, csat (NaN when not supplied),
    response_group, and for tickets of customers who had ordered before it and opened at least
    `churn_days` before the end: `churned` (no order in the `churn_days` after the ticket), else NA."""
    tk = tables["tickets"]
    cols = {
        "ticket_id": tk.ticket_id,
        "customer_id": tk.customer_id,
        "opened_at": tk.opened_at,
        "response_hours": _hours(tk.first_response_at, tk.opened_at),
        "resolution_hours": _hours(tk.resolved_at, tk.opened_at),
        "handoffs": tk.handoffs.cast("float64") if "handoffs" in tk.columns else ibis.null().cast("float64"),
        "csat": tk.csat.cast("float64") if "csat" in tk.columns else ibis.null().cast("float64"),
    }
    t = tk.select(**cols)
    if tables.has("orders"):
        o = tables["orders"]
        o = o.filter(o.customer_id.notnull()).select(oc=o.customer_id, ot=o.order_time)
        before = (
            t.join(o, [t.customer_id == o.oc, o.ot < t.opened_at])
            .group_by("ticket_id")
            .aggregate(had_ordered=ibis.literal(True))
        )
        after = (
            t.join(o, [t.customer_id == o.oc, o.ot > t.opened_at, o.ot <= t.opened_at + ibis.interval(days=churn_days)])
            .group_by("ticket_id")
            .aggregate(ordered_after=ibis.literal(True))
        )
        t = t.left_join(before, "ticket_id").drop("ticket_id_right")
        t = t.left_join(after, "ticket_id").drop("ticket_id_right")
    df = t.to_pandas()
    for c in ("response_hours", "resolution_hours", "handoffs", "csat"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    h = df["response_hours"]
    group = pd.Series("no response", index=df.index, dtype=object)
    for label, hi in (("after 24 h", float("inf")), ("12–24 h", 24), ("4–12 h", 12), ("1–4 h", 4), ("within 1 h", 1)):
        group[h <= hi] = label
    df["response_group"] = pd.Categorical(group, RESPONSE_GROUPS, ordered=True)
    df["churned"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
    if "had_ordered" in df:
        end = tables.period[1]
        judged = df["had_ordered"].fillna(False).astype(bool) & (
            pd.to_datetime(df["opened_at"]) <= end - pd.Timedelta(days=churn_days)
        )
        df.loc[judged, "churned"] = ~df.loc[judged, "ordered_after"].fillna(False).astype(bool)
        df = df.drop(columns=["had_ordered", "ordered_after"])
    return df


def low_scores(tables: Tables, follow_days: int = 3) -> pd.DataFrame:
    """One row per low survey answer (NPS 0–6, CSAT 1–2) answered at least `follow_days` before the end:
    scale, score, group ("NPS 0–3", "NPS 4–6", "CSAT 1–2"), `followed_up` (a ticket of the customer opened
    within `follow_days` after the answer: a call-back), hours to it, and `marketed` (a promo or newsletter
    message sent to the customer in those days) when messages are supplied."""
    sv = tables["surveys"]
    end = tables.period[1]
    low = sv.filter(
        sv.responded_at.notnull()
        & sv.score.notnull()
        & (((sv.scale == "nps") & (sv.score <= 6)) | ((sv.scale == "csat") & (sv.score <= 2)))
        & (sv.responded_at <= ibis.literal(end - pd.Timedelta(days=follow_days)))
    )
    low = low.select("survey_id", "customer_id", "scale", "score", "responded_at")
    tk = tables["tickets"].select(tc=lambda t: t.customer_id, topened=lambda t: t.opened_at)
    window = ibis.interval(days=follow_days)
    j = low.join(tk, [low.customer_id == tk.tc, tk.topened > low.responded_at, tk.topened <= low.responded_at + window])
    first = j.group_by("survey_id").aggregate(hours_to_follow_up=_hours(j.topened.min(), j.responded_at.min()))
    out = low.left_join(first, "survey_id").drop("survey_id_right")
    if tables.has("messages"):
        m = tables["messages"]
        m = m.filter(m.message_type.isin(("promo", "newsletter"))).select(mc=m.customer_id, ms=m.sent_at)
        jm = low.join(m, [low.customer_id == m.mc, m.ms > low.responded_at, m.ms <= low.responded_at + window])
        mk = jm.group_by("survey_id").aggregate(marketed=ibis.literal(True))
        out = out.left_join(mk, "survey_id").drop("survey_id_right")
    df = out.to_pandas()
    df["score"] = df["score"].astype(float)
    df["hours_to_follow_up"] = pd.to_numeric(df["hours_to_follow_up"], errors="coerce").astype(float)
    df["followed_up"] = df["hours_to_follow_up"].notna()
    if "marketed" in df:
        df["marketed"] = df["marketed"].fillna(False).astype(bool)
    group = pd.Series("CSAT 1–2", index=df.index, dtype=object)
    group[(df["scale"] == "nps") & (df["score"] <= 6)] = "NPS 4–6"
    group[(df["scale"] == "nps") & (df["score"] <= 3)] = "NPS 0–3"
    df["group"] = group
    return df
