"""The lifecycle's stages, in order: their ids, titles, questions and notebook names (the bottom of the house).

Stage titles and questions are English msgids, translated when the report renders them.
"""

from __future__ import annotations

from .i18n import N_

STAGES = ("data_health", "reach", "acquisition", "conversion", "retention", "loyalty", "winback")
CHECKED = STAGES[1:]  # the stages whose notebooks run checks (data health reports on the data itself)
TITLES = {
    "data_health": N_("Data health"),
    "reach": N_("Reach"),
    "acquisition": N_("Acquisition"),
    "conversion": N_("Conversion"),
    "retention": N_("Retention"),
    "loyalty": N_("Loyalty"),
    "winback": N_("Win-back"),
}
QUESTIONS = {
    "data_health": N_("What was supplied, what is usable, and which checks can run?"),
    "reach": N_("Do the right people find the shop, through which channels, at what cost?"),
    "acquisition": N_("Once they arrive, does the site give them a reason and a first step?"),
    "conversion": N_("Do interested visitors actually buy, and what is lost on the way?"),
    "retention": N_("After the first order, are customers onboarded, served and contacted well?"),
    "loyalty": N_("Are the best customers recognised, and do they recommend the shop?"),
    "winback": N_("Who is slipping away, who is worth winning back, and when to stop?"),
}
# One notebook per stage, numbered in lifecycle order: 00_data_health ... 06_winback.
NOTEBOOKS: dict[str, str] = {stage: f"{i:02d}_{stage}" for i, stage in enumerate(STAGES)}


def known(stage: str) -> str:
    """`stage` itself when it is a stage id; ValueError naming the stages otherwise."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; the stages are: {', '.join(STAGES)}")
    return stage


def page(stage: str) -> str:
    """The stage's page in a run folder: "03_conversion.html"."""
    return f"{NOTEBOOKS[stage]}.html" if stage in NOTEBOOKS else f"{stage}.html"
