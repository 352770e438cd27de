"""Making a demo shop: the steps from a seed to every contract table, and writing the tables out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .after import Aftermath
from .carts import cart_reminders, recovery_sessions
from .catalog import Catalog
from .clock import DAY, Clock
from .customers import Customers
from .customers import customers as draw_customers
from .events import Events, events
from .experiments import bought_directly, tested_campaigns
from .lapse import door_opener, lapse
from .leads import add_leads
from .loyalty import loyalty, referral_invites, referrals
from .marketing import marketing
from .mistakes import Behaviour, resolve
from .orders import Orders, orders
from .outbox import Outbox
from .reach import first_touch, overbid, spend, tracked
from .service import lifecycle_mails, reviews
from .support import support
from .tables import Shop, build_tables, campaign_names
from .visits import Sessions, sessions
from .winback import winback


class Streams(NamedTuple):
    """One random stream per part, so a switch in one part leaves the others' draws alone; the x_ streams
    draw what the catalogue's other mistakes add, so switching one leaves the original parts alone."""

    cat: np.random.Generator
    cust: np.random.Generator
    ses: np.random.Generator
    ev: np.random.Generator
    mail: np.random.Generator
    cart: np.random.Generator
    ord: np.random.Generator
    after: np.random.Generator
    x_acq: np.random.Generator
    x_lapse: np.random.Generator
    x_after: np.random.Generator
    x_track: np.random.Generator
    x_lead: np.random.Generator
    x_door: np.random.Generator
    x_test: np.random.Generator

    @classmethod
    def of(cls, seed: int) -> Streams:
        """The streams of a seed."""
        parts = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
        extra = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(100 + k,))) for k in range(7)]
        return cls(*parts, *extra)

    @classmethod
    def of_chunk(cls, seed: int, chunk: int) -> Streams:
        """The streams of one chunk of customers of a large shop: chunk 0 draws as the whole shop of `seed` does,
        later chunks draw their own customers, visits and orders; every chunk has the same catalogue."""
        if chunk == 0:
            return cls.of(seed)
        own = np.random.SeedSequence(seed, spawn_key=(1000 + chunk,))
        parts = [np.random.default_rng(s) for s in own.spawn(8)]
        extra = [
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1000 + chunk, 100 + k))) for k in range(7)
        ]
        return cls(*parts, *extra)._replace(cat=cls.of(seed).cat)


def _visitors(r: Streams, clock: Clock, n: int, beh: Behaviour):
    """Catalogue, customers (leads included), their sessions and events, the lapsed ones' dropped."""
    cat = Catalog(r.cat, clock, beh.price_rise)
    cust = draw_customers(r.cust, clock, n, beh)
    cust.acq = first_touch(r.x_acq, cust.acq, beh)
    cust.fav = door_opener(r.x_door, cust, beh)
    s = sessions(r.ses, clock, cust, cat, beh)
    ev = events(r.ev, s, cat, beh)
    cust, s, ev = add_leads(r.x_lead, clock, cust, s, ev, cat, beh)
    s, ev = lapse(r.x_lapse, s, ev, beh)
    return cat, cust, s, ev


def _all_sessions(*parts: tuple[Sessions, Events]):
    """The visits plus those that came back to buy a recovered cart or after a tested campaign: sessions, events,
    purchase time per session and cart lines (session, product, position), as arrays."""
    offsets = np.cumsum([0] + [len(s) for s, _ in parts[:-1]])
    ses = {k: np.concatenate([getattr(s, k) for s, _ in parts]) for k in ("cust", "anon", "start", "channel", "device")}
    e = {
        k: np.concatenate(
            [getattr(ev, k) + (off if k == "sidx" else 0) for (_, ev), off in zip(parts, offsets, strict=True)]
        )
        for k in ("sidx", "t", "etype", "page", "prod")
    }
    buy_time = np.concatenate([ev.buy_time for _, ev in parts])
    lines = (
        np.concatenate([s.line_s + off for (s, _), off in zip(parts, offsets, strict=True)]),
        np.concatenate([s.line_p for s, _ in parts]),
        np.concatenate([s.line_k for s, _ in parts]),
    )
    return ses, e, buy_time, lines


def _after_orders(r: Streams, clock: Clock, cust: Customers, o: Orders, box: Outbox, dead, beh: Behaviour):
    """Service mail, reviews, support, referral invites, win-back, loyalty and referrals, in this order."""
    a = Aftermath(r.after, clock, cust, o, box, dead, beh, r.x_after)
    req, req_t = lifecycle_mails(a)
    rv = reviews(a, req, req_t)
    sp = support(a)
    referral_invites(a, sp.promoters)
    winback(a, rv.bad)
    loyal = loyalty(a)
    referrer, referred = referrals(a)
    return dict(
        postal=a.postal, default=a.default, loyal=loyal, reviews=rv, support=sp, referrer=referrer, referred=referred
    )


# Customers generated at once: a larger shop is made of independent chunks of at most this many customers,
# written one after the other, so the generator's memory does not grow with the shop. A shop of up to CHUNK
# customers is one chunk, drawn exactly as before chunks existed.
CHUNK = 100_000
# Columns that are one table's shared vocabulary, the same in every chunk: not renamed per chunk.
_SHARED_IDS = ("product_id", "campaign_id")


def generate(
    customers: int = 5000,
    seed: int = 7,
    profile: str = "planted",
    mistakes: Iterable[str] | None = None,
    end: str = "2026-09-30",
    months: int = 15,
    chunk: int = CHUNK,
) -> dict[str, pd.DataFrame]:
    """Every contract table of a demo shop; the same arguments give identical tables.

    `profile` "planted" switches on all of MISTAKES, "healthy" none; `mistakes` overrides
    the profile's set. The history covers `months` months up to and including `end`. A shop of more than
    `chunk` customers is made of chunks (see `chunks`), held here all at once: `write_generated` writes a large
    shop chunk by chunk instead.
    """
    parts = list(chunks(customers, seed, profile, mistakes, end, months, chunk))
    if len(parts) == 1:
        return parts[0]
    merged = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    merged["spend"] = _summed_spend([p["spend"] for p in parts])
    merged["prices"] = parts[0]["prices"]
    return merged


def chunk_sizes(customers: int, chunk: int = CHUNK) -> list[int]:
    """The customers of each chunk: as few chunks of at most `chunk` customers as will do, of near-equal size."""
    if customers < 50:
        raise ValueError("customers must be at least 50")
    n = -(-customers // max(chunk, 50))
    base, extra = divmod(customers, n)
    return [base + (k < extra) for k in range(n)]


def chunks(
    customers: int,
    seed: int = 7,
    profile: str = "planted",
    mistakes: Iterable[str] | None = None,
    end: str = "2026-09-30",
    months: int = 15,
    chunk: int = CHUNK,
) -> Iterator[dict[str, pd.DataFrame]]:
    """The shop's tables chunk by chunk (see CHUNK): each chunk is a whole shop of its customers with the same
    catalogue, campaigns and planted mistakes; the ids of later chunks end in "-<chunk>" (C000001-1) so they
    never meet those of another chunk. The spend of all chunks is their sum per day and channel
    (`_summed_spend`); the prices are the catalogue's, the same in every chunk."""
    chosen = resolve(profile, mistakes)
    beh = Behaviour.of(chosen)
    clock = Clock(end, months)
    for k, size in enumerate(chunk_sizes(customers, chunk)):  # no name holds a chunk while the next is drawn
        yield {name: _renamed(df, k) for name, df in _shop(Streams.of_chunk(seed, k), clock, size, beh).items()}


def _renamed(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """The table with the ids of chunk k (k > 0) made its own: "-k" appended to every id but the shared ones."""
    if k == 0:
        return df
    for col in df.columns:
        if col.endswith("_id") and col not in _SHARED_IDS:
            ids = pa.array(df[col], pa.string())
            df[col] = pd.Series(pd.arrays.ArrowStringArray(pc.binary_join_element_wise(ids, f"-{k}", "")))
    return df


def _summed_spend(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' spend tables as one: the amounts summed per day and channel, in the first chunk's order."""
    spend = pd.concat(parts, ignore_index=True)
    out = spend.groupby(["date", "channel"], sort=False, as_index=False, observed=True)["amount"].sum()
    out["amount"] = out["amount"].round(2)
    return out.astype(parts[0].dtypes.to_dict())


def _shop(r: Streams, clock: Clock, customers: int, beh: Behaviour) -> dict[str, pd.DataFrame]:
    """Every contract table of one shop (or chunk) drawn from the streams r."""
    cat, cust, s, ev = _visitors(r, clock, customers, beh)
    campaign_vocab, offsets = campaign_names(clock)
    box = Outbox()
    dead = marketing(r.mail, clock, cust, s, beh, box, offsets, ev.buy_time)
    rs = recovery_sessions(s, *cart_reminders(r.cart, clock, cust, s, ev, beh, box))
    rev = events(r.ev, rs, cat, beh)
    members, qs = tested_campaigns(r.x_test, clock, cust, cat, beh, box, dead, s)
    ses, e, buy_time, lines = _all_sessions((s, ev), (rs, rev), (qs, bought_directly(events(r.x_test, qs, cat, beh))))
    o = orders(r.ord, clock, cat, ses["cust"], buy_time, *lines, np.where(cust.offer, cust.t0 + 30 * DAY, -1))
    after = _after_orders(r, clock, cust, o, box, dead, beh)
    paid, base = spend(r.after, clock, ses["channel"], ses["start"])
    amount = np.round(base * overbid(base, float(o.revenue.sum()), beh.ad_budget), 2)
    channel_seen, acq_seen = tracked(r.x_track, beh, ses["channel"], cust.acq, s)
    shop = Shop(
        clock,
        cat,
        cust,
        ses,
        e,
        o,
        box,
        campaign_vocab,
        paid=paid,
        amount=amount,
        channel_seen=channel_seen,
        acq_seen=acq_seen,
        members=members,
        **after,
    )
    return build_tables(shop)


def write_generated(folder: Path, customers: int, seed: int = 7, chunk: int = CHUNK, **kw) -> dict[str, int]:
    """Generate a shop (arguments as `generate`) straight into folder/<table>.parquet, one chunk at a time: each
    chunk's rows are appended to the files as row groups and then dropped, so the memory needed is that of one
    chunk whatever the shop's size. Returns the rows written per table; the files equal `write_shop(generate(...))`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    rows: dict[str, int] = {}
    spend, prices = [], None
    try:
        for k, tables in enumerate(chunks(customers, seed, chunk=chunk, **kw)):
            spend.append(tables.pop("spend"))
            prices = tables.pop("prices") if k == 0 else prices
            _append(folder, writers, rows, tables)
            del tables  # the next chunk is drawn without this one in memory
    finally:
        for writer in writers.values():
            writer.close()
    for name, df in (("spend", _summed_spend(spend)), ("prices", prices)):
        df.to_parquet(folder / f"{name}.parquet", index=False)
        rows[name] = len(df)
    return rows


def _append(folder: Path, writers: dict[str, pq.ParquetWriter], rows: dict[str, int], tables: dict) -> None:
    """Append one chunk's tables to their Parquet files (opened on the first chunk, in the first chunk's schema)."""
    for name, df in tables.items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        if name not in writers:
            writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
        writers[name].write_table(table.cast(writers[name].schema))
        rows[name] = rows.get(name, 0) + len(df)


def write_shop(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    """Write one Parquet file per table (folder/<table>.parquet); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in tables.items():
        paths[name] = folder / f"{name}.parquet"
        df.to_parquet(paths[name], index=False)
    return paths
