# isort: skip_file
"""Conversion: do interested visitors actually buy, and what is lost on the way?

One room per concern. The order of these imports is the order of the checks in the report.
"""

from . import carts  # noqa: F401 - declares its checks
from . import customers  # noqa: F401 - declares its checks
