"""Loaded by `make test` before pytest's other plugins (`-p tests.startup`), and by tests/conftest.py for other ways
of starting pytest: settings every test process needs before nbval, papermill or a test imports nbformat.

jsonschema checks the "iri" string format with rfc3987_syntax when that is installed (jupyter's dependencies bring
it), and importing it builds a grammar parser: 1.3 s of CPU in every process that imports nbformat (nbval, the
tests of runs and notebooks, papermill). Nothing in a test process checks that format (nbformat validates
notebooks without format checks), so the test processes go without it: jsonschema then simply has no "iri"
checker. The audit's own processes are untouched.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
