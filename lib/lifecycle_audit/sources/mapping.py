"""The params mapping of one table: which client column feeds each contract column, constants, derived columns
and value maps."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import contract
from ..errors import ParamsError
from ..params import PATTERN_PREFIX, split_json
from .coerce import as_text, coerce
from .messages import listing, missing_column_message
from .model import Problem, file_problem

_EXPR_NAME = re.compile(r"`([^`]+)`|([A-Za-z_][\w.]*)")
_ARITHMETIC = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
)


@dataclass
class ColumnMap:
    """Contract column -> the client's column ("=..." for constants and derived columns; None: absent)."""

    header: list[str]
    chosen: dict[str, str | None] = field(default_factory=dict)
    missing: list[Problem] = field(default_factory=list)  # required columns (or derived inputs) not in the file

    def find(self, client: str) -> str | None:
        """The file's column of that name, or of that name once surrounding spaces are dropped."""
        if client in self.header:
            return client
        stripped: dict[str, str] = {}
        for c in self.header:
            stripped.setdefault(c.strip(), c)
        return stripped.get(client.strip())


def map_columns(name: str, src, header: list[str], shown: str, fmt: str) -> ColumnMap:
    """Find each contract column of table `name` in the file's header, through sources[name]."""
    found = ColumnMap(header=list(header))
    for col in contract.table(name).columns:
        if col.name in src.constants:
            found.chosen[col.name] = f"={src.constants[col.name]!r}"
        elif col.name in src.derived:
            found.chosen[col.name] = f"={src.derived[col.name]}"
            found.missing.extend(_missing_inputs(name, col.name, src.derived[col.name], found, shown))
        else:
            client = src.columns.get(col.name, col.name)
            found.chosen[col.name] = found.find(client)
            if found.chosen[col.name] is None and col.required:
                message = missing_column_message(name, col.name, client, src, found.header, fmt)
                found.missing.append(
                    file_problem(name, shown, "missing_column", message, column=col.name, client_column=client)
                )
    return found


def _missing_inputs(table: str, column: str, expr: str, found: ColumnMap, shown: str) -> list[Problem]:
    """A problem for each column a derived column uses that the file lacks."""
    return [
        file_problem(
            table,
            shown,
            "missing_column",
            f"column '{c}' (used by sources.{table}.derived.{column}: {expr}) is missing; "
            "the file's columns are: " + listing([f"'{h}'" for h in found.header]),
            column=column,
            client_column=c,
        )
        for c in expr_columns(expr)
        if found.find(c) is None
    ]


def needed_columns(spec: contract.Table, src, header: list[str]) -> list[str]:
    """The columns the mapping of `spec` reads (to read no others from a Parquet file): those of `header` (the first
    file's), the JSON columns read with a path, the columns of combined ids, the items column, and every
    alternative of a column (a later file may have it; each file is read for the names it has)."""
    want = []
    for col in spec.columns:
        client = src.columns.get(col.name, col.name)
        for name in client if isinstance(client, list) else [client]:
            want.append(split_json(name)[0])
    for parts in src.ids.values():
        want.extend(parts if isinstance(parts, list) else [])
    if src.items is not None:
        want.append(split_json(src.items.column)[0])
    for expr in src.derived.values():
        want.extend(expr_columns(expr))
    alternatives = {split_json(n)[0] for c in src.columns.values() if isinstance(c, list) for n in c}
    return [c for c in dict.fromkeys(want) if c in header or c in alternatives]  # other files may have them


@dataclass
class ValueTally:
    """What a value mapping matched, for its note: per exact key its rows and the number of its first row (in the
    order first met), per pattern its rows. Tallies of consecutive rows add up to the tally of all of them."""

    exact: dict[str, list[int]] = field(default_factory=dict)  # key -> [rows, first row number]
    patterns: dict[str, int] = field(default_factory=dict)

    def add(self, other: ValueTally) -> None:
        for key, (rows, first) in other.exact.items():
            have = self.exact.setdefault(key, [0, first])
            have[0] += rows
        for key, rows in other.patterns.items():
            self.patterns[key] = self.patterns.get(key, 0) + rows


def map_values(s: pd.Series, mapping: dict[str, str | None]) -> tuple[pd.Series, str | None]:
    """Replace the client's values by the contract's: exact keys first (after trimming), then the 're:' patterns in
    the order written (a value matching none passes unchanged)."""
    out, tally = tally_values(s, mapping)
    return out, value_note(mapping, tally)


def tally_values(s: pd.Series, mapping: dict[str, str | None]) -> tuple[pd.Series, ValueTally]:
    """`map_values`, with what it matched as a tally (the note is `value_note`'s)."""
    text = as_text(s)
    exact = {k: v for k, v in mapping.items() if not k.startswith(PATTERN_PREFIX)}
    hit = text.isin(list(exact)).fillna(False)
    out = text.copy()
    out[hit] = text[hit].map(exact)
    tally = ValueTally()
    matched = text[hit]
    if len(matched):
        counts = matched.value_counts(sort=False)
        firsts = matched.drop_duplicates()
        at = [int(i) if isinstance(i, (int, np.integer)) else n for n, i in enumerate(firsts.index)]  # row numbers
        tally.exact = {str(k): [int(counts[k]), first] for first, k in zip(at, firsts, strict=True)}
    for key, value in mapping.items():
        if not key.startswith(PATTERN_PREFIX):
            continue
        open_ = text.notna() & ~hit
        found = open_ & text.str.contains(key[len(PATTERN_PREFIX) :], regex=True).fillna(False)
        if found.any():
            out[found] = value
            hit = hit | found
            tally.patterns[key] = int(found.sum())
    return (out.astype("string") if hit.any() else text), tally


def value_note(mapping: dict[str, str | None], tally: ValueTally) -> str:
    """The note on a value mapping: each key's and pattern's rows (the keys most met first; of as many rows, the
    first met first), or that none of its values occur."""
    if not tally.exact and not tally.patterns:
        return f"none of the values in values: {listing(list(mapping), 6)} occur"
    most = sorted(tally.exact.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
    shown = [f"'{k}' -> {('empty' if mapping[k] is None else repr(mapping[k]))} ({n:,})" for k, (n, _) in most]
    for key in mapping:
        if key in tally.patterns:
            value = mapping[key]
            shown.append(f"'{key}' -> {('empty' if value is None else repr(value))} ({tally.patterns[key]:,})")
    more = f" and {len(shown) - 8} more" if len(shown) > 8 else ""
    return "values mapped: " + ", ".join(shown[:8]) + more


def expr_columns(expr: str) -> list[str]:
    """The column names a derived expression uses (`backticked` names may hold spaces)."""
    return list(dict.fromkeys(m.group(1) or m.group(2) for m in _EXPR_NAME.finditer(expr)))


def derive(expr: str, raw: pd.DataFrame, find, opts) -> tuple[pd.Series, np.ndarray, pd.Series, str | None]:
    """Evaluate arithmetic over client columns: (values, rows with an input that is not a number, the values of
    those inputs for examples, a note)."""
    tree, names = _parse_expression(expr)
    env: dict[str, pd.Series] = {}
    bad = np.zeros(len(raw), dtype=bool)
    shown = pd.Series([""] * len(raw), index=raw.index, dtype="string")
    notes = []
    for col, var in names.items():
        values, b, note = coerce(raw[find(col)], contract.FLOAT, opts)
        if note:
            notes.append(f"'{col}': {note}")
        env[var] = values
        shown = shown.mask(b & ~bad, raw[find(col)].astype("string"))
        bad |= b
    try:
        with np.errstate(all="ignore"):  # a division by zero gives inf, rejected below as not a number
            result = eval(compile(tree, "<derived>", "eval"), {"__builtins__": {}}, env)  # noqa: S307 - checked above
    except ArithmeticError as err:  # numbers only (1/0): the same for every row
        raise ParamsError(f"derived column {expr!r} cannot be computed ({err}); correct the expression") from None
    if not isinstance(result, pd.Series):
        result = pd.Series(float(result), index=raw.index)
    result = result.astype("float64")
    infinite = np.isinf(result.to_numpy()) & ~bad
    if infinite.any():  # e.g. a division by a zero in the client's column
        shown = shown.mask(infinite, "not a finite number (division by zero?)")
        bad |= infinite
        result = result.mask(infinite)
    return result, bad, shown, "; ".join(notes) or None


def _parse_expression(expr: str) -> tuple[ast.Expression, dict[str, str]]:
    """The expression with its column names replaced by variables, checked to be arithmetic only; the names."""
    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        col = m.group(1) or m.group(2)
        names.setdefault(col, f"_c{len(names)}")
        return names[col]

    try:
        tree = ast.parse(_EXPR_NAME.sub(sub, expr), mode="eval")
    except (SyntaxError, RecursionError, ValueError, MemoryError) as err:
        reason = err.msg if isinstance(err, SyntaxError) else "too deeply nested"
        raise ParamsError(f"derived column {expr[:60]!r}: not arithmetic that can be read ({reason})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ARITHMETIC) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))
        ):
            raise ParamsError(f"derived column {expr!r}: only column names, numbers, + - * / and brackets")
    return tree, names
