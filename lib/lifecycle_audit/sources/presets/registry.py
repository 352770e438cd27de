"""Every preset by name, and the check of a preset entry of params.sources."""

from __future__ import annotations

from pydantic import ValidationError

from . import (  # noqa: F401 - they register
    campaign_groups,
    customer_transactions,
    email_activity,
    ga4_events,
    ga4_purchases,
    helpdesk_tickets,
    loyalty_panel,
    shopify_orders,
    transaction_lines,
)
from .base import REGISTRY, Preset
from .tracking_log import PRESET as _TRACKING_LOG  # noqa: F401 - registers the raw tracking log preset


def get(name: str) -> Preset:
    """The preset of that name; ValueError naming the presets there are."""
    if name not in REGISTRY:
        raise ValueError(f"unknown preset {name!r}; the presets are: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def all_presets() -> list[Preset]:
    """Every preset, in registration order."""
    return list(REGISTRY.values())


def validate(src) -> list[str]:
    """Check a preset entry of params.sources; return the tables it yields. Raises ValueError."""
    preset = get(src.preset)
    try:
        preset.options.model_validate(src.options)
    except ValidationError as err:
        problems = "; ".join(f"options.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise ValueError(f"preset {preset.name}: {problems}") from None
    for part in ("columns", "values", "constants", "derived"):
        unknown = [k for k in getattr(src, part) if k not in preset.fields]
        if unknown:
            raise ValueError(
                f"{part} names {', '.join(map(repr, unknown))}, not a field of preset {preset.name}; "
                f"its fields are: {', '.join(preset.fields)}"
            )
    tables = list(src.tables) if src.tables else list(preset.yields)
    wrong = [t for t in tables if t not in preset.yields]
    if wrong:
        raise ValueError(f"tables: preset {preset.name} yields {', '.join(preset.yields)}, not {', '.join(wrong)}")
    return tables
