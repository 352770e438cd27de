# isort: skip_file
"""Retention: after the first order, are customers onboarded, served and contacted well?

One room per concern. The order of these imports is the order of the checks in the report.
"""

from . import contacts  # noqa: F401 - declares its checks
from . import after_order  # noqa: F401 - declares its checks
from . import service  # noqa: F401 - declares its checks
from . import expansion  # noqa: F401 - declares its checks
from . import campaigns  # noqa: F401 - declares its checks
