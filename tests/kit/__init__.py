"""The shared test-data kit: builders of contract tables by keyword, generated shops, and the salted run."""

from tests.kit.frames import (T0, all_findings, customers, events, messages, order_lines, orders, prices,
                              referrals, reviews, run, shop, spend, surveys, table, tables, tickets)

__all__ = ["T0", "all_findings", "customers", "events", "messages", "order_lines", "orders", "prices", "referrals",
           "reviews", "run", "shop", "spend", "surveys", "table", "tables", "tickets"]
