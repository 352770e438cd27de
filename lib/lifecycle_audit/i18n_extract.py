"""Babel extractors for the workbook's msgids: check declarations, Text(...) in code, and notebook narrative.

babel.cfg maps them (``pybabel extract -F babel.cfg``; tests/test_i18n.py runs the same extraction):
    extract_python    a Python module: _() / N_() / gettext() / Text() / say() calls,
                      and the declaration keywords title=, failure_title=, description=, source=, advice=,
                      x_label=, y_label=, reference_label=, empty= when their value is a literal.
    extract_notebook  a notebook's Markdown cells, block by block as the stage page translates them
                      (i18n.markdown_messages: a paragraph, a heading, a list item), except cells tagged remove-cell
                      (never shown in the report); and its code cells, read as Python (workbook.say("...") for
                      prose that depends on the data, titles of plots, empty= texts of tables).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

from .i18n import markdown_messages

CALLS = {"_", "N_", "gettext", "Text", "tr"}
PARAGRAPH_CALLS = {"say"}  # every positional argument is a message (a paragraph)
KEYWORDS = {
    "title",
    "failure_title",
    "description",
    "source",
    "advice",
    "x_label",
    "y_label",
    "reference_label",
    "empty",
}


REMOVED_CELL_TAGS = {"remove-cell", "remove_cell"}  # cells the stage page leaves out (report.render)


def normalise(paragraph: str) -> str:
    """The msgid of a narrative paragraph (as workbook.normalise): whitespace folded, outer blanks gone."""
    return re.sub(r"\s*\n\s*", " ", paragraph.strip())


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def messages_in(source: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) for every message in a piece of Python source."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in CALLS and node.args:
            for s in _strings(node.args[0])[:1]:
                yield node.lineno, s
        elif name in PARAGRAPH_CALLS:
            for arg in node.args:
                for s in _strings(arg):
                    yield node.lineno, normalise(s)
        for kw in node.keywords:
            if kw.arg in KEYWORDS:
                for s in _strings(kw.value):
                    yield kw.value.lineno, s


def _babel(found: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str, str, list[str]]]:
    for lineno, msgid in found:
        if msgid.strip():
            yield lineno, "_", msgid, []


def extract_python(fileobj, keywords: Any, comment_tags: Any, options: dict) -> Iterator:
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    yield from _babel(messages_in(source))


def _cell_source(cell: dict) -> str:
    text = "".join(cell.get("source", ""))
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())


def extract_notebook(fileobj, keywords: Any, comment_tags: Any, options: dict) -> Iterator:
    nb = json.loads(fileobj.read().decode("utf-8"))
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            if REMOVED_CELL_TAGS & set(cell.get("metadata", {}).get("tags") or []):
                continue
            found = [(index + 1, m) for m in markdown_messages("".join(cell.get("source", "")))]
        elif cell.get("cell_type") == "code":
            found = list(messages_in(_cell_source(cell)))
        else:
            continue
        for _lineno, msgid in found:
            if msgid.strip():
                yield index + 1, "_", msgid, [f"cell {index + 1}"]
