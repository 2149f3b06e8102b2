"""Which of a file's fields fill our columns, and how their values become ours.

The mapping comes from ``--map ours=theirs`` options, a TOML file (``ours = "theirs"`` at
top level or in a ``[fields]`` table) and, for the rest, the aliases of
:mod:`ingest._fields`. Codes are always text: integer values keep every digit, and numeric
code fields wider than 15 digits are refused because floating point has lost digits.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest._fields import normalise
from ingest.errors import (
    CodeFieldMissing,
    InvalidMapping,
    MappedFieldMissing,
    NumericCodeTooWide,
)
from ingest.vectors._encoding import DbfField

__all__ = [
    "MAX_EXACT_DIGITS",
    "code_text",
    "json_value",
    "load_mapping",
    "resolve_fields",
    "text_value",
]

#: Digits a float64 holds exactly (2**53 ≈ 9.007e15).
MAX_EXACT_DIGITS = 15


def load_mapping(
    options: Sequence[str] = (), file: Path | None = None, *, fields: Sequence[str]
) -> dict[str, str]:
    """Merge a mapping file and ``ours=theirs`` options (options win).

    Raises:
        InvalidMapping: malformed option, unreadable file, or a name that is not ours.
    """
    mapping: dict[str, str] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidMapping(detail=f"{file.name}: {exc}") from exc
        table = data.get("fields", data)
        for ours, theirs in table.items():
            if not isinstance(theirs, str):
                raise InvalidMapping(detail=f"{file.name}: {ours} = {theirs!r}")
            mapping[ours] = theirs
    for item in options:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InvalidMapping(detail=f"--map {item!r} (ours=theirs)")
        mapping[ours.strip()] = theirs.strip()
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise InvalidMapping(detail=f"{', '.join(unknown)} ∉ {', '.join(fields)}")
    return mapping


def resolve_fields(
    columns: Sequence[str],
    *,
    explicit: Mapping[str, str],
    aliases: Mapping[str, tuple[str, ...]],
    path: str,
    empty: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Our field → the file's column, explicit names first, then aliases.

    Alias matching skips ``empty`` columns (no value at all), such as the ``Name`` field
    every KML placemark has, so a filled ``地块名称`` wins over it.

    Raises:
        MappedFieldMissing: an explicit name the file does not have.
        CodeFieldMissing: nothing maps to ``code``.
    """
    by_key = {normalise(c): c for c in reversed(columns)}
    result: dict[str, str] = {}
    used: set[str] = set()
    for ours, theirs in explicit.items():
        column = theirs if theirs in columns else by_key.get(normalise(theirs))
        if column is None:
            raise MappedFieldMissing(
                path=path, ours=ours, theirs=theirs, available=", ".join(columns)
            )
        result[ours] = column
        used.add(column)
    for ours, names in aliases.items():
        if ours in result:
            continue
        for name in names:
            column = by_key.get(name)
            if column is not None and column not in used and column not in empty:
                result[ours] = column
                used.add(column)
                break
    if "code" not in result:
        raise CodeFieldMissing(path=path, available=", ".join(columns))
    return result


def code_text(
    values: pd.Series, *, field: str, path: str, dbf: DbfField | None = None
) -> list[str | None]:
    """Codes as text, never through a float that lost digits.

    Args:
        values: the code column as read.
        field: the column's name, for messages.
        path: file name, for messages.
        dbf: the shapefile field descriptor, when there is one.

    Raises:
        NumericCodeTooWide: a numeric field wider than 15 digits (DBF N/F width, or float
            values of 1e15 and more).
    """
    if dbf is not None and dbf.type in ("N", "F") and dbf.width > MAX_EXACT_DIGITS:
        raise NumericCodeTooWide(path=path, field=field, width=dbf.width)
    if pd.api.types.is_float_dtype(values.dtype):
        largest = float(np.nanmax(np.abs(values.to_numpy(float)))) if values.notna().any() else 0.0
        if largest >= 10.0**MAX_EXACT_DIGITS:
            raise NumericCodeTooWide(path=path, field=field, width=len(f"{largest:.0f}"))
    return [_one_code(v) for v in values.tolist()]


def _one_code(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    return text or None


def text_value(value: object) -> str | None:
    """A cell as trimmed text (integral floats without ``.0``), None when empty."""
    return _one_code(value)


def json_value(value: object) -> Any:
    """A cell as a JSON-safe value: NaN/NaT → None, numpy scalars → Python, times → ISO."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, np.ndarray | list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)
