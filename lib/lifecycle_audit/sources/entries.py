"""The sources entries of a params file: the tables each yields, and the checks only the presets can make."""

from __future__ import annotations

from ..errors import ParamsError
from . import presets


def table_sources(params) -> dict[str, str]:
    """contract table -> the sources entry it comes from."""
    out: dict[str, str] = {}
    for name, src in params.sources.items():
        for t in presets.validate(src) if src.preset else [name]:
            out[t] = name
    return out


def check_params(params) -> None:
    """Check the preset entries of params.sources (options, fields, tables) and that no table comes from two
    entries. Raises ParamsError naming the params file and the place, as the params' own checks do."""
    file = params.source_file or "<params>"
    yielded: dict[str, str] = {}
    for name, src in params.sources.items():
        tables = _preset_tables(file, name, src) if src.preset is not None else [name]
        for t in tables:
            if t in yielded:
                hint = "; restrict one of them with `tables:`" if src.preset is not None else ""
                raise ParamsError(
                    f"{file}: sources.{name}: the {t} table comes from both sources.{yielded[t]} "
                    f"and sources.{name}{hint}"
                )
            yielded[t] = name


def _preset_tables(file: str, name: str, src) -> list[str]:
    try:
        return presets.validate(src)
    except ValueError as err:
        raise ParamsError(f"{file}: sources.{name}: {err}") from None
