# isort: skip_file
"""Win-back: who is slipping away, who is worth winning back, and when to stop?

One room per concern. The order of these imports is the order of the checks in the report.
"""

from . import lapsing  # noqa: F401 - declares its checks
from . import leave_alone  # noqa: F401 - declares its checks
