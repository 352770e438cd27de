"""Stage notebooks executed in worker processes (papermill), and the live progress table that follows them.

Kept apart from the runner on purpose: a spawned worker imports this package and papermill only, not the
audit's data layers (pandas, ibis, DuckDB), which the runner imports at its top for the parent process.
"""

import sys

# nbformat (here, in papermill and in the report's pages) validates with jsonschema, which on import builds
# rfc3987_syntax's grammar (the checker of the "iri" format) when that package is installed: 1.6-2 s of CPU in the
# run's own process before its first line, and again in every worker, for a format no notebook schema uses.
# Marked absent, jsonschema leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
