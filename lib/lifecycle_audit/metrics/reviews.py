"""Reviews: how the ratings the shop received are spread over the rating scale."""

from __future__ import annotations

import pandas as pd

from ..engine import Tables


def by_rating(tables: Tables) -> pd.DataFrame:
    """Reviews per rating, lowest first: `rating` as a label ("1", "4.5") and `reviews`."""
    r = tables["reviews"]
    out = r.group_by("rating").agg(reviews=r.count()).order_by("rating").to_pandas()
    out["reviews"] = out["reviews"].astype("int64")
    out["rating"] = out["rating"].map("{:g}".format)
    return out
