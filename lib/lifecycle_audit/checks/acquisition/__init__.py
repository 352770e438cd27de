# isort: skip_file
"""Acquisition: once visitors arrive, does the site give them a reason and a first step?

One room per concern. The order of these imports is the order of the checks in the report.
"""

from . import landing  # noqa: F401 - declares its checks
from . import prices  # noqa: F401 - declares its checks
from . import first_steps  # noqa: F401 - declares its checks
