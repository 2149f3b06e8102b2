"""Ingest local Sentinel-2 L2A scenes: index COGs in the raster store, plot statistics in PostGIS.

Per scene: the radiometry is decided (:func:`decide_radiometry`) and judged on vegetated
pixels; the SCL is masked with reasons on its own 20 m grid and moved to the 10 m bands
(nearest); each index is computed as float32 reflectance maths with NaN where invalid or
masked. All of it runs in row strips (:mod:`ingest.satellite._strips`), so memory is one
strip plus one value per plot pixel, whatever the scene size. Index COGs (int16,
``value = stored × 1e-4``, nodata −32768) and a true-colour COG (B04, B03, B02 as uint8,
reflectance 0–0.3 → 1–255, 0 nodata) are clipped to the plots' extent plus
:data:`CLIP_MARGIN_M` and written atomically and byte-reproducibly under
``SKYGROUND_HOME/rasters/<source>/<scene_key>/<INDEX>.tif`` (:mod:`ingest.satellite.cog`).

Database, one transaction per scene: the ``scenes`` row (key ``(source, scene_key)``;
footprint = raster bounds in EPSG:4326; ``clear_fraction`` = Σ clear coverage / Σ coverage
over the plots, or the scene's clear pixel share without plots), ``raster_assets`` rows,
``plot_index_stats`` rows for current plots touching the footprint (coverage computed once,
reused for every index; plots flagged ``outside_grid`` get no row; flagged rows are kept with
their reason; ``masked_shares`` maps reason names to shares) and ``plot_latest``.

Where the work runs: by default in this process, one scene at a time, and the scene's
transaction stores the scene and its statistics while GDAL builds the COGs (then adds the
assets and commits). With an :class:`~ingest.satellite.executor.Executor` (one task per
scene on a Dask cluster), :func:`prepare_scene` (read, mask, compute, write COGs; it only
reads the database) runs on the workers and the caller writes each scene's transaction in
scene order, so scene ids and tie-breaks do not depend on which worker finishes first.
Warnings are raised in the caller's process either way.

Decisions:
    * ``acquired_at``: sen2r names carry only the date, so the date at 00:00 UTC (the real
      overpass over Anhua is ~03:00 UTC; 00:00 UTC keeps the calendar date both in UTC and
      in Asia/Shanghai). Product metadata with a sensing time is not read for the time.
    * Two observations of one plot with the same key (plot, index, acquired_at, source), e.g.
      overlapping tiles or orbits on one date: the one with the higher clear fraction, then
      the higher valid weight, is kept; a tie keeps the stored one (``scene_stats_store.sql``).
    * ``plot_latest``: the newest unflagged observation per plot and index; ties on time go to
      the higher clear fraction, then valid weight, then source name; a plot and index whose
      every observation is flagged (e.g. after a re-ingest with a stricter threshold) has none.
    * Re-running an ingest changes no row (upserts update only what differs) and rewrites
      byte-identical COGs.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Final

import shapely
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ingest._db import finish_job, start_job
from ingest.errors import ImplausibleReflectance, UnknownBand
from ingest.satellite._grid import Grid
from ingest.satellite._inputs import SceneFiles, find_scenes
from ingest.satellite._scene_db import plots_touching, upsert_asset, upsert_scene
from ingest.satellite._scene_raster import (
    CLIP_MARGIN_M,
    clear_fraction,
    clip_window,
)
from ingest.satellite._scene_raster import footprint as scene_footprint
from ingest.satellite._stats_db import store_stats
from ingest.satellite._strips import BandSource, SceneStrips, StripResult
from ingest.satellite.cog import CogInfo
from ingest.satellite.executor import Executor, Portable
from ingest.satellite.metadata import read_mtd
from ingest.satellite.radiometry import Radiometry, decide_radiometry
from ingest.satellite.read import (
    SEN2R_BOA_BANDS,
)
from ingest.satellite.settings import SatelliteSettings
from ingest.satellite.stats import (
    FLAG_IMPLAUSIBLE_RADIOMETRY,
    StatsTable,
    compute_coverage,
    mask_sums,
    sample_statistics,
)
from models.db import engine_for, session_scope
from models.errors import SkyGroundError, SkyGroundWarning
from models.indices import Platform, get_index, indices_for
from models.indices.bands import band
from models.tables import Job

__all__ = [
    "CLIP_MARGIN_M",
    "JOB_KIND",
    "MIN_VALID_PIXELS",
    "IngestOptions",
    "PreparedScene",
    "SceneResult",
    "SceneTask",
    "ingest_local",
    "ingest_scene",
    "prepare_scene",
]

JOB_KIND: Final = "satellite_ingest"
#: Observations with fewer valid 10 m pixels are flagged ``few_pixels``.
MIN_VALID_PIXELS: Final = 3
TRUE_COLOUR: Final = "truecolor"  # the kind tiles.raster serves as /tiles/scenes/{id}/truecolor
_TRUE_COLOUR_BANDS: Final = ("red", "green", "blue")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestOptions:
    """How to read and what to compute (the CLI's options)."""

    source: str = "local"
    band_map: Mapping[str, int] = field(default_factory=lambda: dict(SEN2R_BOA_BANDS))
    day: date | None = None
    orbit: int | None = None
    boa_offset: float | None = None
    indices: tuple[str, ...] | None = None
    satellite: SatelliteSettings = field(default_factory=SatelliteSettings)
    lang: str = "zh-CN"


@dataclass
class SceneResult:
    """What one scene ingest did, for the ``--json`` summary and the job counts."""

    scene_key: str
    acquired_at: str
    radiometry: dict[str, Any]
    indices: list[str]
    plots_with_stats: int
    flagged: int
    clear_fraction: float | None
    cogs: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def ingest_local(
    *,
    engine: Engine,
    paths: list[Path],
    store: Path,
    options: IngestOptions,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> tuple[str, list[SceneResult]]:
    """Ingest every scene found in ``paths``; the job id and one result per scene.

    Recorded as a ``satellite_ingest`` job with progress; a failure marks the job failed and
    leaves earlier scenes committed (each scene is its own transaction). Without ``executor``
    the scenes are worked on here, one at a time, each scene's rows written while its COGs
    are built; with one, the per-scene work (:func:`prepare_scene`) runs on it and the rows
    are written here, through ``engine``, in scene order.
    """
    scenes = find_scenes(paths, day=options.day, orbit=options.orbit)
    params = {"paths": [str(p) for p in paths], "source": options.source}
    job_id = start_job(engine=engine, kind=JOB_KIND, params=params)
    results: list[SceneResult] = []

    def done(result: SceneResult) -> None:
        results.append(result)
        _job_progress(engine, job_id, len(results) / len(scenes))
        if progress is not None:
            progress(len(results), len(scenes))

    try:
        if executor is None:
            # In this process the rows are written while GDAL builds the COGs.
            for scene in scenes:
                done(_ingest_here(engine, scene, store, options, stacklevel=3))
        else:
            url = engine.url.render_as_string(hide_password=False)
            tasks = [SceneTask(s, store, options, database_url=url) for s in scenes]
            with closing(executor.map(prepare_scene, tasks)) as prepared_scenes:
                for prepared in prepared_scenes:
                    done(_finish(engine, prepared, store, options, stacklevel=3))
    except Exception as error:
        message = error.message("en") if isinstance(error, SkyGroundError) else repr(error)
        finish_job(engine=engine, job_id=job_id, counts=_counts(results), error=message)
        raise
    finish_job(engine=engine, job_id=job_id, counts=_counts(results))
    return str(job_id), results


def _counts(results: list[SceneResult]) -> dict[str, Any]:
    return {
        "scenes": len(results),
        "plot_stats": sum(r.plots_with_stats * len(r.indices) for r in results),
        "flagged": sum(r.flagged for r in results),
    }


def _job_progress(engine: Engine, job_id: uuid.UUID, share: float) -> None:
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(progress=min(share, 1.0)))


@dataclass(frozen=True)
class SceneTask:
    """One scene's work as plain picklable values, for this process or a Dask worker.

    No engine and no open dataset: the task opens its own files and a short-lived database
    connection (read only: the plots under the footprint).
    """

    scene: SceneFiles
    store: Path
    options: IngestOptions
    database_url: str


@dataclass(frozen=True)
class SceneRows:
    """What a scene's database rows need, known once its strips are done."""

    scene: SceneFiles
    names: tuple[str, ...]
    grid: Grid
    footprint: shapely.Geometry
    clear: float | None
    record: dict[str, Any]
    tables: dict[str, StatsTable]
    notes: tuple[Portable[SkyGroundWarning], ...]


@dataclass(frozen=True)
class PreparedScene:
    """What :func:`prepare_scene` computed and wrote (COGs), for the database transaction."""

    rows: SceneRows
    cogs: dict[str, CogInfo]


def ingest_scene(
    *, engine: Engine, scene: SceneFiles, store: Path, options: IngestOptions
) -> SceneResult:
    """Ingest one scene: its rows and COGs (atomic files), committed once the COGs are built."""
    return _ingest_here(engine, scene, store, options, stacklevel=4)


def _ingest_here(
    engine: Engine, scene: SceneFiles, store: Path, options: IngestOptions, stacklevel: int
) -> SceneResult:
    """One scene in this process: the rows are written while GDAL builds the COGs.

    The transaction opens once the statistics are computed (the strips are done), stores the
    scene and its statistics, waits for the COGs, adds their assets and commits; a failure
    anywhere rolls it back, and the COG files are not referenced by any row.
    """
    with ExitStack() as stack:
        written: list[tuple[Session, int, tuple[int, int]]] = []

        def write(rows: SceneRows) -> None:
            session = stack.enter_context(session_scope(engine))
            scene_id, counts = _store_rows(session, rows, options)
            written.append((session, scene_id, counts))

        prepared = _prepare(engine=engine, scene=scene, store=store, options=options, write=write)
        session, scene_id, counts = written[0]
        for kind, info in prepared.cogs.items():
            upsert_asset(session, scene_id, kind, info, store)
    return _result(prepared, counts, store, options, stacklevel=stacklevel)


def prepare_scene(task: SceneTask) -> PreparedScene:
    """The per-scene work without database writes: statistics computed, COGs written.

    A module-level function of picklable input, so a Dask worker can run it; its engine
    (one connection) is disposed before it returns.
    """
    engine = engine_for(task.database_url, pool_size=1)
    try:
        return _prepare(engine=engine, scene=task.scene, store=task.store, options=task.options)
    finally:
        engine.dispose()


def _finish(
    engine: Engine, prepared: PreparedScene, store: Path, options: IngestOptions, stacklevel: int
) -> SceneResult:
    """Store a scene prepared elsewhere (rows and assets) in one transaction, then warn."""
    with session_scope(engine) as session:
        scene_id, counts = _store_rows(session, prepared.rows, options)
        for kind, info in prepared.cogs.items():
            upsert_asset(session, scene_id, kind, info, store)
    return _result(prepared, counts, store, options, stacklevel=stacklevel)


def _store_rows(
    session: Session, rows: SceneRows, options: IngestOptions
) -> tuple[int, tuple[int, int]]:
    """The ``scenes`` row and the statistics; the scene id and (plots with rows, flagged)."""
    scene = rows.scene
    scene_id = upsert_scene(
        session, scene, options.source, rows.grid, rows.footprint, rows.clear, rows.record
    )
    counts = store_stats(
        session,
        acquired_at=scene.acquired_at,
        source=options.source,
        scene_id=scene_id,
        tables=rows.tables,
    )
    return scene_id, counts


def _result(
    prepared: PreparedScene,
    counts: tuple[int, int],
    store: Path,
    options: IngestOptions,
    stacklevel: int,
) -> SceneResult:
    """Warn (in the caller's process) and summarise the stored scene."""
    rows = prepared.rows
    notes = [note.rebuild() for note in rows.notes]
    for note in notes:
        warnings.warn(note, stacklevel=stacklevel)
    return SceneResult(
        scene_key=rows.scene.scene_key,
        acquired_at=rows.scene.acquired_at.isoformat(),
        radiometry=rows.record,
        indices=list(rows.names),
        plots_with_stats=counts[0],
        flagged=counts[1],
        clear_fraction=rows.clear,
        cogs={kind: i.path.relative_to(store).as_posix() for kind, i in prepared.cogs.items()},
        warnings=[note.message(options.lang) for note in notes],
    )


def _prepare(
    *,
    engine: Engine,
    scene: SceneFiles,
    store: Path,
    options: IngestOptions,
    write: Callable[[SceneRows], None] | None = None,
) -> PreparedScene:
    """Read, mask, compute and write the COGs; ``write`` gets the rows while COGs are built."""
    metadata = read_mtd(scene.metadata) if scene.metadata else None
    radiometry = decide_radiometry(
        metadata, user_offset=options.boa_offset, acquired=scene.acquired_at
    )
    available = _available_bands(scene, options)
    names = _indices(options.indices, available)
    needed = sorted({b for n in names for b in get_index(n).bands} | set(_TRUE_COLOUR_BANDS))
    work = SceneStrips(
        bands=_band_sources(scene, options, [b for b in needed if b in available]),
        scl=scene.scl,
        radiometry=radiometry,
        names=names,
        mask_unclassified=options.satellite.mask_scl_7,
        dilation_px=options.satellite.mask_dilation_px,
    )
    with work.open() as opened:
        grid = opened.grid
        footprint = scene_footprint(grid)
        with session_scope(engine) as session:
            plots = plots_touching(session, footprint)
        coverage = (
            compute_coverage(plots, grid, id_column="id", processes=2) if len(plots) else None
        )

        def rows(strips: StripResult) -> SceneRows:
            tables: dict[str, StatsTable] = {}
            if coverage is not None and strips.reason_samples is not None:
                masks = mask_sums(coverage, strips.reason_samples)  # once for every index
                tables = {
                    name: sample_statistics(
                        coverage,
                        strips.samples.pop(name),
                        strips.reason_samples,
                        min_valid_pixels=MIN_VALID_PIXELS,
                        min_clear_fraction=options.satellite.min_clear_fraction,
                        masks=masks,
                    )
                    for name in names
                }
            found = _scene_rows(scene, names, grid, footprint, radiometry, strips, tables, options)
            if write is not None:
                write(found)
            return found

        done, computed = opened.run(
            coverage=coverage,
            window=clip_window(grid, plots),
            folder=store / options.source / scene.scene_key,
            true_colour=_TRUE_COLOUR_BANDS,
            true_colour_kind=TRUE_COLOUR,
            then=rows,
        )
    return PreparedScene(rows=computed, cogs=done.cogs)


def _scene_rows(
    scene: SceneFiles,
    names: tuple[str, ...],
    grid: Grid,
    footprint: shapely.Geometry,
    radiometry: Radiometry,
    done: StripResult,
    tables: dict[str, StatsTable],
    options: IngestOptions,
) -> SceneRows:
    """The radiometry verdict, flags, clear fraction and warnings from the strips' results."""
    check = done.check
    verdict = check.plausibility
    notes: list[ImplausibleReflectance | LowClearScene] = []
    if check.contradiction:
        # Values under a contradicted scale or offset are wrong by it: stored, not trusted.
        notes.append(check.warning())
        tables = {name: t.flag_all(FLAG_IMPLAUSIBLE_RADIOMETRY) for name, t in tables.items()}
    first = next(iter(tables.values()), None)
    clear = clear_fraction(first, mask_clear=done.clear_pixels / max(done.pixels, 1))
    if clear is not None and clear < options.satellite.warn_clear_fraction:
        notes.append(LowClearScene(scene=scene.scene_key, clear=f"{clear:.0%}"))
    record = {
        **radiometry.as_dict(),
        "plausibility": {
            "verdict": str(verdict.verdict),
            "red_median": verdict.red_median,
            "nir_median": verdict.nir_median,
            "vegetated_pixels": verdict.vegetated_pixels,
            "suggested_offset": check.suggested_offset,
        },
    }
    return SceneRows(
        scene=scene,
        names=names,
        grid=grid,
        footprint=footprint,
        clear=clear,
        record=record,
        tables=tables,
        notes=tuple(Portable.of(note) for note in notes),
    )


class LowClearScene(SkyGroundWarning):
    """Less of the scene (over the plots) is clear than ``SKYGROUND_INGEST_WARN_CLEAR_FRACTION``."""

    key: ClassVar[str] = "ingest_satellite_warning_low_clear"


def _available_bands(scene: SceneFiles, options: IngestOptions) -> set[str]:
    keys = scene.band_files if scene.boa is None else options.band_map
    return {band(k).name for k in keys}


def _indices(requested: tuple[str, ...] | None, available: set[str]) -> tuple[str, ...]:
    if requested:
        return tuple(get_index(n).name for n in requested)
    specs = indices_for(Platform.SENTINEL2)
    return tuple(s.name for s in specs if set(s.bands) <= available)


def _band_sources(
    scene: SceneFiles, options: IngestOptions, needed: list[str]
) -> dict[str, BandSource]:
    """Where each needed band is: the BOA stack and its band number, or its own file."""
    if scene.boa is not None:
        numbers = {band(k).name: int(n) for k, n in options.band_map.items()}
        missing = [n for n in needed if n not in numbers]
        if missing:
            raise UnknownBand(band=", ".join(missing))
        return {n: BandSource(scene.boa, numbers[n]) for n in needed}
    files = {band(k).name: p for k, p in scene.band_files.items()}
    return {n: BandSource(files[n]) for n in needed}
