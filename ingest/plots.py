"""Import plots (tea gardens) from a vector file: map, check, then upsert on ``code``.

One file is one transaction: any problem and nothing is written. Geometries are stored as
EPSG:4326 MultiPolygons; ``area_m2`` is ``ST_Area(geom::geography)`` (WGS 84 ellipsoid, m²).
A plot goes to the village whose polygon holds a point on its surface, else to the village
whose code (or unique name) equals its village text; the text itself is kept in
``village_name``. Re-running an import changes no row, key or ``updated_at``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ingest._db import Progress, copy_rows, run_as_job, run_count, run_sql
from ingest._fields import PLOT_ALIASES, PLOT_FIELDS
from ingest._prepare import Prepared, prepare, summary_notes
from ingest.errors import IngestError
from ingest.summary import ImportSummary, Note
from ingest.vectors import ReadOptions
from models.db import act_as, session_scope
from models.settings import ServiceArea

__all__ = ["PlotImportOptions", "PlotsOutsideScope", "import_plots"]

# Staging order: position, our fields in PLOT_FIELDS order, then attributes and geometry.
_STAGING_COLUMNS = ("pos", *PLOT_FIELDS, "attributes", "geom")


class PlotsOutsideScope(IngestError):
    """A scoped importer's file holds plots outside the scope (or in no village)."""

    key = "import_error_outside_scope"


class _Rollback(Exception):
    """Raised inside the transaction of a dry run so nothing is kept."""


@dataclass(frozen=True)
class PlotImportOptions:
    """What ``skyground plots import`` was asked to do.

    Attributes:
        read: how to read the file (layer, CRS, encoding, GCJ-02, CSV axis order).
        mapping: our field → the file's column, for fields the aliases do not find.
        retire_missing: mark plots absent from the file retired (never deleted).
        dry_run: check and count everything, then roll back.
        unit_ids: admin units the importer is limited to (a scoped user's villages); every
            plot must be placed in one of them and replace no plot outside them. None: all.
    """

    read: ReadOptions = field(default_factory=ReadOptions)
    mapping: Mapping[str, str] = field(default_factory=dict)
    retire_missing: bool = False
    dry_run: bool = False
    unit_ids: frozenset[int] | None = None


def _planting_year(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return Note("import_problem_bad_year", {"value": text})
    if not number.is_integer() or not 1900 <= number <= 2200:
        return Note("import_problem_bad_year", {"value": text})
    return int(number)


def _rows(prepared: Prepared) -> list[tuple[Any, ...]]:
    values = prepared.values
    empty: list[object] = [None] * len(prepared.codes)
    columns = [values.get(name, empty) for name in PLOT_FIELDS[1:]]
    return [
        (pos, code, *(col[pos] for col in columns), prepared.attributes[pos], prepared.ewkb[pos])
        for pos, code in enumerate(prepared.codes)
    ]


def _check_scope(session: Session, path: Path, unit_ids: frozenset[int]) -> None:
    outside = run_sql(
        session=session, name="plots_outside_scope", params={"unit_ids": sorted(unit_ids) or [-1]}
    )
    if outside:
        codes = ", ".join(str(row.code) for row in outside[:20])
        raise PlotsOutsideScope(path=path.name, count=len(outside), codes=codes)


def import_plots(
    *,
    engine: Engine,
    path: Path,
    options: PlotImportOptions | None = None,
    service_area: ServiceArea | None = None,
    progress: Progress | None = None,
    actor: tuple[str, int | None] | None = None,
) -> ImportSummary:
    """Import the plots of one file in one transaction.

    Args:
        engine: database to write to.
        path: GeoJSON, GeoPackage, (zipped) Shapefile, KML/KMZ, GeoParquet or coordinate CSV.
        options: reading, mapping and writing options.
        service_area: longitude/latitude box every plot must lie in; None accepts anywhere.
        progress: called with (rows staged, total) while rows are sent to the database.
        actor: (name, user id) the audit log gives every changed plot; None: whatever the
            connection says (the command line's ``cli:<user>``).

    Returns:
        Counts (inserted, updated, unchanged, retired), source CRS, encoding and notes.

    Raises:
        IngestError: the file cannot be read or a feature is invalid; nothing was written
            (a failed row is left in ``jobs``).
    """
    options = options or PlotImportOptions()
    params = {
        "path": path.name,
        "mapping": dict(options.mapping),
        "retire_missing": options.retire_missing,
    }
    return run_as_job(
        engine=engine,
        kind="plots_import",
        params=None if options.dry_run else params,
        work=lambda: _import(engine, path, options, service_area, progress, actor),
    )


def _import(
    engine: Engine,
    path: Path,
    options: PlotImportOptions,
    service_area: ServiceArea | None,
    progress: Progress | None,
    actor: tuple[str, int | None] | None = None,
) -> ImportSummary:
    prepared = prepare(
        path,
        read=options.read,
        explicit=options.mapping,
        aliases={k: PLOT_ALIASES[k] for k in PLOT_FIELDS},
        service_area=service_area,
        max_code_length=64,
        checks={"planting_year": _planting_year},
    )
    source = prepared.source
    summary = ImportSummary(
        kind="plots",
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
    if "village" not in prepared.fields:
        summary.notes.append(Note("import_note_no_village_field"))
    try:
        with session_scope(engine) as session:
            if actor is not None:
                act_as(session, *actor)
            run_sql(session=session, name="plots_staging")
            copy_rows(
                session=session,
                table="plot_staging",
                columns=_STAGING_COLUMNS,
                rows=_rows(prepared),
                total=len(prepared.codes),
                progress=progress,
            )
            run_sql(session=session, name="plots_place")
            if options.unit_ids is not None:
                _check_scope(session, path, options.unit_ids)
            stats = run_sql(session=session, name="plots_stats")[0]
            written = run_sql(session=session, name="plots_upsert", params={"source": path.name})
            retired = 0
            if options.retire_missing:
                retired = run_count(session=session, name="plots_retire")
            summary.inserted = sum(1 for row in written if row.inserted)
            summary.updated = len(written) - summary.inserted
            summary.unchanged = len(prepared.codes) - len(written)
            summary.retired = retired
            summary.unretired = int(stats.unretired)
            summary.area_m2 = float(stats.area_m2)
            summary.villages = {
                "by_location": int(stats.by_location),
                "by_attribute": int(stats.by_attribute),
                "unassigned": int(stats.unassigned),
            }
            if options.dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return summary
