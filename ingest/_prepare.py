"""Read, map and check a file before any write; shared by plots and admin units.

Every problem of every feature is collected first, then one :class:`InvalidFeatures` names
them all (capped when shown), so a surveyor fixes a file in one round.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import shapely

from ingest._fields import normalise
from ingest._validate import check_codes, check_geometries, problems_from_notes, to_multipolygon
from ingest.errors import InvalidFeatures
from ingest.mapping import code_text, json_value, resolve_fields, text_value
from ingest.summary import Note
from ingest.vectors import ReadOptions, VectorSource, read_vector
from models.settings import ServiceArea

__all__ = ["Prepared", "ValueCheck", "prepare", "summary_notes"]

#: Checks one mapped value; returns the converted value or a Note saying what is wrong.
ValueCheck = Callable[[object], "object | Note"]


@dataclass
class Prepared:
    """A file that passed every check.

    Attributes:
        source: what was read (frame in EPSG:4326).
        fields: our field → the file's column.
        codes: code of each feature, as text.
        values: our field → converted value per feature (codes excluded).
        attributes: JSON text of the unmapped attributes per feature (nulls left out).
        ewkb: hex EWKB (SRID 4326, 2D MultiPolygon) per feature.
    """

    source: VectorSource
    fields: dict[str, str]
    codes: list[str]
    values: dict[str, list[object]]
    attributes: list[str]
    ewkb: list[str]


def prepare(
    path: Path,
    *,
    read: ReadOptions,
    explicit: Mapping[str, str],
    aliases: Mapping[str, tuple[str, ...]],
    service_area: ServiceArea | None,
    max_code_length: int,
    checks: Mapping[str, ValueCheck],
) -> Prepared:
    """Read ``path`` and check every feature.

    Args:
        path: the file.
        read: reading options (``code_names`` is filled from the mapping here).
        explicit: our field → their column, from the user.
        aliases: default column names per field.
        service_area: box the features must lie in, or None.
        max_code_length: longest code the table holds.
        checks: per mapped field, a converter that returns a Note for a bad value; fields
            without one are read as text.

    Raises:
        InvalidFeatures: any feature problem (all of them listed); plus every reading error.
    """
    code_names = (normalise(explicit["code"]),) if "code" in explicit else aliases["code"]
    source = read_vector(path, _with_code_names(read, code_names))
    frame = source.frame
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    empty = frozenset(c for c in columns if frame[c].isna().all())
    fields = resolve_fields(
        columns, explicit=explicit, aliases=aliases, path=path.name, empty=empty
    )
    code_column = fields["code"]
    codes = code_text(
        frame[code_column],
        field=code_column,
        path=path.name,
        dbf=source.dbf_fields.get(code_column),
    )
    reasons: dict[int, list[Note]] = {pos: list(n) for pos, n in source.problems.items()}
    for pos, note in check_codes(codes, max_length=max_code_length).items():
        reasons.setdefault(pos, []).append(note)
    geoms = frame.geometry.to_numpy()
    skip = set(source.problems)
    for pos, note in check_geometries(list(geoms), area=service_area, skip=skip).items():
        reasons.setdefault(pos, []).append(note)

    values: dict[str, list[object]] = {}
    for ours, column in fields.items():
        if ours == "code":
            continue
        check = checks.get(ours, _text)
        converted: list[object] = []
        for pos, raw in enumerate(frame[column].tolist()):
            value = check(raw)
            if isinstance(value, Note):
                reasons.setdefault(pos, []).append(
                    Note(value.key, {**value.params, "field": column})
                )
                value = None
            converted.append(value)
        values[ours] = converted
    if reasons:
        raise InvalidFeatures(path=path.name, problems=problems_from_notes(reasons, codes))

    mapped = set(fields.values())
    others = [c for c in columns if c not in mapped and c != source.fid_column]
    attributes = []
    for record in frame[others].to_dict(orient="records"):
        clean = {str(k): json_value(v) for k, v in record.items()}
        attributes.append(
            json.dumps(
                {k: v for k, v in clean.items() if v is not None},
                ensure_ascii=False,
                sort_keys=True,
            )
        )
    multi = [shapely.set_srid(to_multipolygon(g), 4326) for g in geoms]
    ewkb = [str(w) for w in shapely.to_wkb(multi, hex=True, include_srid=True)]
    return Prepared(source, fields, [str(c) for c in codes], values, attributes, ewkb)


def _with_code_names(read: ReadOptions, code_names: tuple[str, ...]) -> ReadOptions:
    return ReadOptions(
        layer=read.layer,
        crs=read.crs,
        encoding=read.encoding,
        gcj02=read.gcj02,
        xy_order=read.xy_order,
        code_names=code_names,
    )


def _text(value: object) -> object:
    return text_value(value)


def summary_notes(source: VectorSource) -> list[Note]:
    """Notes of the reading stage, plus the encoding when it was detected."""
    notes = list(source.notes)
    if source.encoding_origin in ("detected", "ldid") and source.encoding not in (None, "ASCII"):
        notes.insert(0, Note("import_note_encoding_detected", {"encoding": source.encoding}))
    return notes
