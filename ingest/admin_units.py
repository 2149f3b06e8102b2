"""Import admin units (county, township, village boundaries) from a vector file.

One file is one transaction. Levels come from ``--level`` or a level field; units are
written county first, then townships, then villages, so a parent in the same file exists
before its children. A parent is the unit whose code is in the parent-code field, or, without
that field, the unit of the nearest level above whose polygon holds a point on the child's
surface (PostGIS, EPSG:4326). Areas are m² on the WGS 84 ellipsoid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ingest._db import Progress, copy_rows, run_as_job, run_count, run_sql
from ingest._fields import ADMIN_ALIASES
from ingest._prepare import Prepared, prepare, summary_notes
from ingest._validate import problems_from_notes
from ingest.errors import InvalidFeatures, InvalidMapping, LevelMissing
from ingest.summary import ImportSummary, Note
from ingest.vectors import ReadOptions
from models.db import session_scope
from models.settings import ServiceArea
from models.tables import ADMIN_LEVELS

__all__ = ["AdminImportOptions", "import_admin_units"]

_STAGING_COLUMNS = ("pos", "code", "name", "level", "parent_code", "attributes", "geom")
_LEVEL_WORDS = {
    "county": "county",
    "县": "county",
    "区": "county",
    "县级": "county",
    "township": "township",
    "town": "township",
    "乡镇": "township",
    "乡": "township",
    "镇": "township",
    "街道": "township",
    "乡级": "township",
    "village": "village",
    "村": "village",
    "社区": "village",
    "村级": "village",
}


class _Rollback(Exception):
    """Raised inside the transaction of a dry run so nothing is kept."""


@dataclass(frozen=True)
class AdminImportOptions:
    """What ``skyground admin-units import`` was asked to do.

    Attributes:
        read: how to read the file.
        mapping: our field (code, name, level, parent_code) → the file's column.
        level: level of every unit in the file; None to read it from a level field.
        parent_code_field: the file's column holding the parent's code.
        dry_run: check and count everything, then roll back.
    """

    read: ReadOptions = field(default_factory=ReadOptions)
    mapping: Mapping[str, str] = field(default_factory=dict)
    level: str | None = None
    parent_code_field: str | None = None
    dry_run: bool = False


def _level(value: object) -> object:
    text = "" if value is None else str(value).strip()
    level = _LEVEL_WORDS.get(text.casefold())
    return level if level is not None else Note("import_problem_bad_level", {"value": text})


def _name(value: object) -> object:
    text = "" if value is None else str(value).strip()
    if not text or text.casefold() == "nan":
        return Note("import_problem_no_name")
    return text


def _rows(prepared: Prepared, level: str | None) -> list[tuple[Any, ...]]:
    values = prepared.values
    levels = values.get("level") or [level] * len(prepared.codes)
    parents = values.get("parent_code") or [None] * len(prepared.codes)
    return [
        (
            pos,
            code,
            values["name"][pos],
            levels[pos],
            parents[pos],
            prepared.attributes[pos],
            prepared.ewkb[pos],
        )
        for pos, code in enumerate(prepared.codes)
    ]


def import_admin_units(
    *,
    engine: Engine,
    path: Path,
    options: AdminImportOptions | None = None,
    service_area: ServiceArea | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the admin units of one file in one transaction.

    Args:
        engine: database to write to.
        path: any supported vector file.
        options: reading, mapping, level and parent options.
        service_area: longitude/latitude box every unit must lie in; None accepts anywhere.
        progress: called with (rows staged, total).

    Raises:
        IngestError: unreadable file, invalid features or unknown parent codes; nothing was
            written (a failed row is left in ``jobs``).
    """
    options = options or AdminImportOptions()
    if options.level is not None and options.level not in ADMIN_LEVELS:
        raise InvalidMapping(detail=f"--level {options.level} ∉ {', '.join(ADMIN_LEVELS)}")
    params = {"path": path.name, "mapping": dict(options.mapping), "level": options.level}
    return run_as_job(
        engine=engine,
        kind="admin_units_import",
        params=None if options.dry_run else params,
        work=lambda: _import(engine, path, options, service_area, progress),
    )


def _import(
    engine: Engine,
    path: Path,
    options: AdminImportOptions,
    service_area: ServiceArea | None,
    progress: Progress | None,
) -> ImportSummary:
    explicit = dict(options.mapping)
    if options.parent_code_field is not None:
        explicit["parent_code"] = options.parent_code_field
    aliases = dict(ADMIN_ALIASES)
    if options.level is not None:
        aliases.pop("level")
    prepared = prepare(
        path,
        read=options.read,
        explicit=explicit,
        aliases=aliases,
        service_area=service_area,
        max_code_length=32,
        checks={"level": _level, "name": _name},
    )
    if "name" not in prepared.fields:
        raise InvalidMapping(detail=f"{path.name}: name")
    if options.level is None and "level" not in prepared.fields:
        raise LevelMissing(path=path.name)
    source = prepared.source
    summary = ImportSummary(
        kind="admin_units",
        source=path.name,
        driver=source.driver,
        layer=source.layer,
        features=len(prepared.codes),
        source_crs=source.source_crs,
        encoding=source.encoding,
        encoding_origin=source.encoding_origin,
        dry_run=options.dry_run,
        notes=summary_notes(source),
    )
    try:
        with session_scope(engine) as session:
            run_sql(session=session, name="admin_staging")
            copy_rows(
                session=session,
                table="admin_staging",
                columns=_STAGING_COLUMNS,
                rows=_rows(prepared, options.level),
                total=len(prepared.codes),
                progress=progress,
            )
            unknown = run_sql(session=session, name="admin_unknown_parents")
            if unknown:
                notes = {
                    int(r.pos): [Note("import_problem_unknown_parent", {"parent": r.parent_code})]
                    for r in unknown
                }
                problems = problems_from_notes(notes, prepared.codes)
                raise InvalidFeatures(path=path.name, problems=problems)
            written: list[Any] = []
            for rank, level in enumerate(ADMIN_LEVELS):
                above = list(reversed(ADMIN_LEVELS[:rank]))
                written += run_sql(
                    session=session,
                    name="admin_upsert",
                    params={"level": level, "parent_levels": above},
                )
            placed = run_count(session=session, name="plots_place_missing")
            if placed:
                summary.notes.append(Note("import_note_plots_placed", {"count": placed}))
            stats = run_sql(session=session, name="admin_stats")[0]
            summary.inserted = sum(1 for row in written if row.inserted)
            summary.updated = len(written) - summary.inserted
            summary.unchanged = len(prepared.codes) - len(written)
            summary.area_m2 = float(stats.area_m2)
            summary.parents = {
                "by_attribute": int(stats.by_attribute),
                "by_location": int(stats.by_location),
                "without_parent": int(stats.without_parent),
            }
            if options.dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return summary
