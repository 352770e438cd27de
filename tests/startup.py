"""Loaded by `make test` before pytest's other plugins (`-p tests.startup`), and by tests/conftest.py for other ways
of starting pytest: settings every test process needs before nbval, papermill or a test imports nbformat.

The one setting so far is the audit's own, made by importing lifecycle_audit.kernels (which imports nothing heavy):
jsonschema then goes without rfc3987_syntax, whose import builds a grammar parser for the "iri" string format that
nothing here checks (1.3 s of CPU in every process that imports nbformat: nbval, the tests of runs and notebooks).
"""

import lifecycle_audit.kernels  # noqa: F401 - imported for its setting
