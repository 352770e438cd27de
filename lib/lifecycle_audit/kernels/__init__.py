"""Stage notebooks executed in worker processes (papermill), and the live progress table that follows them.

Kept apart from the runner on purpose: a spawned worker imports this package and papermill only, not the
audit's data layers (pandas, ibis, DuckDB), which the runner imports at its top for the parent process.
"""
