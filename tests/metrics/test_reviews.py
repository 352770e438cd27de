"""Reviews by rating."""

from __future__ import annotations

from lifecycle_audit.metrics import reviews
from tests.kit import reviews as review_rows
from tests.kit import tables


def test_by_rating_counts_reviews_per_rating_lowest_first():
    rows = review_rows(rating=[5.0, 1.0, 5.0, 4.5, 5.0, 1.0], customer_id="a", days=[0, 1, 2, 3, 4, 5])
    out = reviews.by_rating(tables(reviews=rows))
    assert out.to_dict("list") == {"rating": ["1", "4.5", "5"], "reviews": [2, 1, 3]}
