"""The mission's check catalogue: every check the workbook is to have, built or not yet."""

from __future__ import annotations

from .registry import Planned

P = Planned
CATALOGUE: tuple[Planned, ...] = (
    P("reach.untracked_traffic", "reach", "Where visitors come from is tracked", ("events",)),
    P("reach.channel_concentration", "reach", "New customers come through several channels", ("customers",)),
    P("reach.acquisition_cost", "reach", "Acquiring a customer costs less than the customer returns",
      ("spend", "customers", "orders")),
    P("reach.earned_reach", "reach", "The shop is found, not only advertised", ("customers", "events")),
    P("acquisition.homepage_value_proposition", "acquisition", "The homepage gives visitors a reason and a first step",
      ("events",)),
    P("acquisition.landing_page_match", "acquisition", "Campaign traffic lands on pages that match it", ("events",)),
    P("acquisition.price_sensitivity", "acquisition", "Price changes do not drive customers away",
      ("prices", "order_lines", "orders")),
    P("acquisition.lead_capture", "acquisition", "Visitors who do not buy yet leave their contact details",
      ("events", "messages")),
    P("acquisition.time_to_first_purchase", "acquisition", "The welcome sequence matches how long customers take to decide",
      ("customers", "events", "orders", "messages")),
    P("conversion.cart_abandonment", "conversion", "Shoppers complete the carts they start", ("events",)),
    P("conversion.checkout_funnel", "conversion", "The purchase process loses few shoppers on the way", ("events",)),
    P("conversion.abandoned_cart_recovery", "conversion", "Abandoned carts are reminded promptly and followed up",
      ("events", "messages", "orders")),
    P("conversion.customer_research", "conversion", "Existing customers are asked what they need", ("orders", "surveys")),
    P("conversion.thank_you", "conversion", "Every order is followed by a thank-you", ("orders", "messages")),
    P("conversion.relevance", "conversion", "Offers match what customers came for", ("messages", "events")),
    P("retention.over_contacting", "retention", "Customers are not contacted until they unsubscribe", ("messages",)),
    P("retention.under_contacting", "retention", "Customers hear from the shop after they buy", ("messages", "orders")),
    P("retention.repeat_purchase", "retention", "First-time buyers come back", ("orders",)),
    P("retention.onboarding", "retention", "New customers get help to start using what they bought", ("orders", "messages")),
    P("retention.support_responsiveness", "retention", "Support answers fast and does not pass customers around",
      ("tickets", "orders")),
    P("retention.silent_dissatisfaction", "retention", "Unhappy customers are followed up", ("surveys", "tickets", "messages")),
    P("retention.expansion", "retention", "Customers start with the products that keep them longest", ("orders", "order_lines")),
    P("loyalty.unrecognised_loyal", "loyalty", "The best customers are recognised and rewarded",
      ("orders", "customers")),
    P("loyalty.referrals", "loyalty", "Happy customers are asked to refer others", ("referrals", "orders")),
    P("loyalty.reviews", "loyalty", "Happy customers are asked for reviews", ("reviews", "orders")),
    P("winback.churn_risk", "winback", "Valuable customers slipping away are noticed", ("orders", "messages")),
    P("winback.recontact_cutoff", "winback", "Re-contacting stops when it no longer pays", ("orders", "messages")),
    P("winback.suppression", "winback", "Customers who left bad reviews or did not pay are not chased",
      ("reviews", "customers", "messages")),
    P("winback.channel_fallback", "winback", "Lapsed customers are reached on another channel when e-mail fails",
      ("orders", "customers", "messages")),
)


def entries(stage: str | None = None) -> list[Planned]:
    """Catalogue entries, optionally of one stage."""
    return [p for p in CATALOGUE if stage is None or p.stage == stage]


def not_built(stage: str | None = None) -> list[Planned]:
    """Catalogue checks of a stage that have no implementation yet."""
    from .registry import _load

    built = _load()
    return [p for p in entries(stage) if p.id not in built]
