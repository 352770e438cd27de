"""The data contract: every canonical table, its columns, types, keys and references."""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds. Each maps to one pandas dtype in the canonical tables.
STRING = "string"
TIMESTAMP = "timestamp"
DATE = "date"
FLOAT = "float"
INT = "int"
BOOL = "bool"

PANDAS_DTYPES = {
    STRING: "string",
    TIMESTAMP: "datetime64[us]",
    DATE: "datetime64[us]",
    FLOAT: "float64",
    INT: "Int64",
    BOOL: "boolean",
}

CHANNELS = (
    "organic_search",
    "paid_search",
    "paid_social",
    "organic_social",
    "email",
    "referral",
    "direct",
    "affiliate",
    "display",
    "unknown",
)
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "begin_checkout", "purchase", "sign_up")
PAGE_TYPES = ("home", "landing", "category", "product", "cart", "checkout", "content", "other")
DEVICES = ("desktop", "mobile", "tablet", "other")
MESSAGE_CHANNELS = ("email", "push", "sms", "postal")
MESSAGE_TYPES = (
    "promo",
    "newsletter",
    "welcome",
    "abandoned_cart",
    "thank_you",
    "onboarding",
    "winback",
    "survey",
    "review_request",
    "referral_invite",
    "transactional",
)
SURVEY_SCALES = ("nps", "csat")
ASSIGNMENTS = ("treatment", "control")  # campaign_members.assignment: sent the campaign, or held out on purpose


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    kind: str
    required: bool = True  # must be present in the client's mapping
    nullable: bool = False  # may hold empty values
    allowed: tuple[str, ...] | None = None  # closed vocabulary
    references: str | None = None  # "table.column" this column points at
    min_value: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    """One canonical table of the contract."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    time_column: str | None = None  # the column that dates a row (for ranges and the period)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


C = Column

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "One row per customer known to the shop.",
            (
                C("customer_id", STRING, description="the shop's customer key"),
                C("first_seen_at", TIMESTAMP, description="first visit, sign-up or order"),
                C(
                    "acquisition_channel",
                    STRING,
                    nullable=True,
                    allowed=CHANNELS,
                    description="first-touch channel; empty when unknown",
                ),
                C("country", STRING, required=False, nullable=True),
                C("email_opt_in", BOOL, required=False, nullable=True),
                C("has_postal_address", BOOL, required=False, nullable=True),
                C("loyalty_member_since", TIMESTAMP, required=False, nullable=True),
                C("payment_default", BOOL, required=False, nullable=True),
            ),
            key=("customer_id",),
            time_column="first_seen_at",
        ),
        Table(
            "events",
            "Web or app analytics events, one row per event.",
            (
                C("session_id", STRING),
                C("customer_id", STRING, nullable=True, references="customers.customer_id"),
                C("anonymous_id", STRING, nullable=True),
                C("event_time", TIMESTAMP),
                C("event_type", STRING, allowed=EVENT_TYPES),
                # page type, channel and device: an export that does not carry them leaves them out and they are
                # "not supplied" (the checks that need them are not run), never "unknown" on every row
                C("page_type", STRING, required=False, nullable=True, allowed=PAGE_TYPES),
                C("channel", STRING, required=False, nullable=True, allowed=CHANNELS),
                C("device", STRING, required=False, nullable=True, allowed=DEVICES),
                C("product_id", STRING, required=False, nullable=True),
                C("category", STRING, required=False, nullable=True),
            ),
            time_column="event_time",
        ),
        Table(
            "orders",
            "One row per order.",
            (
                C("order_id", STRING),
                C("customer_id", STRING, nullable=True, references="customers.customer_id"),
                C("order_time", TIMESTAMP),
                C("revenue", FLOAT, description="order value after discounts, in the params currency"),
                C("discount", FLOAT, required=False, nullable=True, min_value=0),
                C("currency", STRING, required=False, nullable=True),
            ),
            key=("order_id",),
            time_column="order_time",
        ),
        Table(
            "order_lines",
            "One row per product in an order.",
            (
                C("order_id", STRING, references="orders.order_id"),
                C("product_id", STRING),
                C("category", STRING, required=False, nullable=True),
                C("unit_price", FLOAT),
                C("quantity", INT),
            ),
        ),
        Table(
            "messages",
            "One row per message sent to a customer.",
            (
                C("message_id", STRING),
                C("customer_id", STRING, references="customers.customer_id"),
                C("channel", STRING, allowed=MESSAGE_CHANNELS),
                C("campaign_id", STRING, required=False, nullable=True),
                C("message_type", STRING, allowed=MESSAGE_TYPES),
                C("category", STRING, required=False, nullable=True),
                C("sent_at", TIMESTAMP),
                C("opened_at", TIMESTAMP, nullable=True),
                C("clicked_at", TIMESTAMP, nullable=True),
                C("unsubscribed_at", TIMESTAMP, nullable=True),
                C("complained_at", TIMESTAMP, required=False, nullable=True),
                C("bounced", BOOL, required=False, nullable=True),
            ),
            key=("message_id",),
            time_column="sent_at",
        ),
        Table(
            "tickets",
            "One row per support ticket.",
            (
                C("ticket_id", STRING),
                C("customer_id", STRING, references="customers.customer_id"),
                C("opened_at", TIMESTAMP),
                C("first_response_at", TIMESTAMP, nullable=True),
                C("resolved_at", TIMESTAMP, nullable=True),
                C("handoffs", INT, required=False, nullable=True, min_value=0),
                C("csat", FLOAT, required=False, nullable=True),
            ),
            key=("ticket_id",),
            time_column="opened_at",
        ),
        Table(
            "surveys",
            "One row per survey sent.",
            (
                C("survey_id", STRING),
                C("customer_id", STRING, references="customers.customer_id"),
                C("sent_at", TIMESTAMP),
                C("responded_at", TIMESTAMP, nullable=True),
                C("score", FLOAT, nullable=True),
                C("scale", STRING, allowed=SURVEY_SCALES),
            ),
            key=("survey_id",),
            time_column="sent_at",
        ),
        Table(
            "reviews",
            "One row per product or shop review.",
            (
                C("review_id", STRING),
                C("customer_id", STRING, references="customers.customer_id"),
                C("order_id", STRING, nullable=True, references="orders.order_id"),
                C("created_at", TIMESTAMP),
                C("rating", FLOAT, min_value=0),
            ),
            key=("review_id",),
            time_column="created_at",
        ),
        Table(
            "referrals",
            "One row per referred customer.",
            (
                C("referrer_id", STRING, references="customers.customer_id"),
                C("referred_customer_id", STRING, references="customers.customer_id"),
                C("created_at", TIMESTAMP),
            ),
            key=("referred_customer_id",),
            time_column="created_at",
        ),
        Table(
            "spend",
            "Marketing spend per day and channel.",
            (
                C("date", DATE),
                C("channel", STRING, allowed=CHANNELS),
                C("amount", FLOAT, min_value=0),
            ),
            key=("date", "channel"),
            time_column="date",
        ),
        Table(
            "prices",
            "List price of each product from a date on.",
            (
                C("product_id", STRING),
                C("valid_from", DATE),
                C("price", FLOAT, min_value=0),
            ),
            key=("product_id", "valid_from"),
            time_column="valid_from",
        ),
        Table(
            "campaign_members",
            "One row per customer a tested campaign was planned for: the group the customer was assigned to (the "
            "treatment, with its variant, or a control group held out on purpose), when, and what reaching them cost.",
            (
                C("campaign_id", STRING, description="the campaign; the same id as messages.campaign_id"),
                C("customer_id", STRING, references="customers.customer_id"),
                C(
                    "assignment",
                    STRING,
                    allowed=ASSIGNMENTS,
                    description="treatment: sent the campaign; control: held out on purpose, sent nothing",
                ),
                C(
                    "variant",
                    STRING,
                    required=False,
                    nullable=True,
                    description="the version a treated customer got (subject line, offer); empty for one version",
                ),
                C("assigned_at", TIMESTAMP, description="when the customer was assigned: the send, or its date"),
                C(
                    "control_share",
                    FLOAT,
                    required=False,
                    nullable=True,
                    min_value=0,
                    description="the planned share of the control group (for the sample-ratio test)",
                ),
                C(
                    "cost",
                    FLOAT,
                    required=False,
                    nullable=True,
                    min_value=0,
                    description="what reaching this customer cost (postage, voucher, fee); 0 for the control group",
                ),
            ),
            key=("campaign_id", "customer_id"),
            time_column="assigned_at",
        ),
    )
}

TABLE_ORDER: tuple[str, ...] = tuple(TABLES)


def table(name: str) -> Table:
    """The contract table called `name`, with a clear error for an unknown name."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; the contract has: {', '.join(TABLES)}") from None
