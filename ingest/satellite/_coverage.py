"""Pixel coverage of plots on one raster grid, computed once and reused for every index.

A :class:`PlotCoverage` lists, for every plot, the pixels of a grid it touches and the
fraction c ∈ (0, 1] of each pixel's area that lies inside the plot (exactextract's coverage
fraction, computed exactly from the polygon, not by sampling). It is stored CSR-like: plot
``k`` owns entries ``offsets[k]:offsets[k + 1]`` of ``rows``, ``cols`` and ``weights``.

Coverage depends only on the plots and the grid (CRS, transform, shape), never on pixel
values, so it is computed on a grid-only raster (a zero-strided array: no pixel memory) and
then reused for every index, mask and date on the same grid.

exactextract does not reproject: plots are reprojected here from their CRS (normally
EPSG:4326) to the grid's CRS with pyproj (geopandas ``to_crs``), and exactextract's
CRS-mismatch warning is turned into :class:`CrsMismatch`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Final

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

import ingest
from ingest._cells import Cells, cells_of
from ingest.errors import IngestError
from ingest.satellite._grid import Grid, GridLike

__all__ = [
    "CrsMismatch",
    "GridMismatch",
    "PlotCoverage",
    "PlotsWithoutCrs",
    "SPLIT_MIN_PLOTS",
    "StatsError",
    "UnsupportedGrid",
    "compute_coverage",
    "read_samples",
]

_log = logging.getLogger(__name__)
#: The module a second process runs (``python -m``): it serves one :func:`cells_of` call.
_CHILD_MODULE = "ingest._cells"

#: Fewer plots than this stay in one process (a second process costs ~0.3 s to start and
#: hand back its cells; the coverage of 20,000 plots takes ~1.5 s on one core).
SPLIT_MIN_PLOTS: Final = 20_000


class StatsError(IngestError):
    """Base of the failures of per-plot statistics."""

    key: ClassVar[str] = "stats_error"


class PlotsWithoutCrs(StatsError):
    """The plots carry no CRS, so they cannot be reprojected to the raster's."""

    key = "stats_error_plots_no_crs"


class CrsMismatch(StatsError):
    """exactextract saw plots and grid in different CRSs (it would silently find no pixels)."""

    key = "stats_error_crs_mismatch"


class UnsupportedGrid(StatsError):
    """The raster's transform is rotated or not north-up."""

    key = "stats_error_unsupported_grid"


class GridMismatch(StatsError):
    """An array or raster does not lie on the grid the coverage was computed for."""

    key = "stats_error_grid_mismatch"


@dataclass(frozen=True, eq=False)
class PlotCoverage:
    """Pixels touched by each plot on one grid, with their coverage fractions (CSR layout).

    Attributes:
        grid: the grid the pixel indices refer to.
        plot_ids: one id per plot, in input order (the id column or the GeoDataFrame index).
        offsets: int64, length ``n_plots + 1``; plot ``k`` owns entries
            ``offsets[k]:offsets[k + 1]``.
        rows: int32 pixel row of each entry.
        cols: int32 pixel column of each entry.
        weights: float32 coverage fraction c ∈ (0, 1] of each entry (exactextract's).
        area_px: float64 area of each plot in pixels (its area in the grid CRS divided by
            the pixel area); ``total_weight / area_px`` is the share of the plot on the grid.
    """

    grid: Grid
    plot_ids: NDArray[Any]
    offsets: NDArray[np.int64]
    rows: NDArray[np.int32]
    cols: NDArray[np.int32]
    weights: NDArray[np.float32]
    area_px: NDArray[np.float64]

    @property
    def n_plots(self) -> int:
        """Number of plots (including those that touch no pixel)."""
        return len(self.plot_ids)

    @property
    def n_cells(self) -> int:
        """Number of (plot, pixel) entries."""
        return len(self.weights)

    @cached_property
    def plot_index(self) -> NDArray[np.intp]:
        """Position of the owning plot for every entry."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(self.n_plots, dtype=np.intp), counts)

    @cached_property
    def row_order(self) -> NDArray[np.intp]:
        """Entry positions sorted by pixel row (for reading a raster in row strips)."""
        return np.argsort(self.rows, kind="stable")

    def sample(self, array: NDArray[Any]) -> NDArray[Any]:
        """The value of ``array`` (a 2-D grid, shape ``grid.shape``) at every entry."""
        if array.shape != self.grid.shape:
            raise GridMismatch(expected=str(self.grid.shape), got=str(array.shape))
        return array[self.rows, self.cols]


def compute_coverage(
    plots: gpd.GeoDataFrame,
    grid_like: GridLike,
    *,
    id_column: str | None = None,
    min_fraction: float = 0.0,
    processes: int = 1,
) -> PlotCoverage:
    """Coverage fractions of every plot on ``grid``, computed once with exactextract.

    Args:
        plots: plot polygons in any CRS (stored plots are EPSG:4326); reprojected here to
            ``grid.crs`` with pyproj. Empty or missing geometries touch no pixel.
        grid_like: the raster grid (CRS, north-up transform, shape), e.g. an open rasterio
            dataset of the index rasters or a :class:`~ingest.satellite._grid.Grid`.
        id_column: column holding plot ids; the GeoDataFrame index when None.
        min_fraction: entries with a coverage fraction at or below this are dropped. The
            default 0 keeps every touched pixel, as exactextract does, including slivers of
            ~1e-7 that reprojection round-off creates along edges lying on pixel edges; a
            small value (1e-6) drops those from counts, min and max.
        processes: 2 computes half of the plots in a second process when there are at least
            :data:`SPLIT_MIN_PLOTS` of them and this process may use two CPUs (the result is
            the same).

    Returns:
        The coverage, one plot per input row in input order; plots outside the grid have no
        entries.

    Raises:
        PlotsWithoutCrs: ``plots`` has no CRS.
        CrsMismatch: exactextract found plots and grid in different CRSs.
        UnsupportedGrid: the grid is rotated or not north-up.
    """
    grid = _north_up(Grid.of(grid_like))
    if plots.crs is None:
        raise PlotsWithoutCrs(count=len(plots))
    # pyproj's CRS, as geopandas uses it, for both the plots and the raster exactextract sees.
    crs = CRS.from_user_input(grid.crs.to_wkt())
    ids = np.array(plots[id_column] if id_column else plots.index)
    projected = plots.geometry.to_crs(crs)
    geoms = np.asarray(projected.array, dtype=object)
    xmin, ymin, xmax, ymax = grid.bounds
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    touches = present & shapely.intersects(geoms, shapely.box(xmin, ymin, xmax, ymax))
    positions = np.flatnonzero(touches)
    area_px = np.where(present, shapely.area(geoms), 0.0) / grid.pixel_area

    counts = np.zeros(len(ids), dtype=np.int64)
    wkbs = list(shapely.to_wkb(geoms[positions]))
    try:
        touched, cells, weights = _cells(
            wkbs, grid, (crs.to_wkt(), projected.crs.to_wkt()), processes
        )
    except RuntimeWarning as warning:
        raise CrsMismatch(
            plots_crs=projected.crs.to_string(), raster_crs=crs.to_string()
        ) from warning
    counts[positions] = touched
    return _assemble(grid, ids, counts, cells, weights, area_px, min_fraction)


def _cells(wkbs: list[bytes], grid: Grid, wkts: tuple[str, str], processes: int) -> Cells:
    """:func:`~ingest._cells.cells_of` for all plots, split over up to two processes.

    exactextract's binding holds the GIL, so threads would not help: the second half goes to
    a child Python process (``python -m ingest._cells``) while this one computes the first.
    Not :mod:`multiprocessing`: its spawned processes import the caller's main module (the
    whole CLI), and a fork could inherit locks held by GDAL's or the database driver's
    threads. Small inputs and a process allowed one CPU stay here; so does a daemonic process
    (a Dask worker's, whose CPUs the cluster already schedules); a half whose process failed
    to start or died is computed here.
    """
    args = (grid.bounds, grid.shape, *wkts)
    if (
        processes < 2
        or len(wkbs) < SPLIT_MIN_PLOTS
        or len(os.sched_getaffinity(0)) < 2
        or multiprocessing.current_process().daemon
    ):
        return cells_of(wkbs, *args)
    half = len(wkbs) // 2
    with _Child((wkbs[half:], *args)) as far:
        near = cells_of(wkbs[:half], *args)
        other = far.result()
    if other is None:
        _log.warning("coverage: the second process failed; computing its half here")
        other = cells_of(wkbs[half:], *args)
    return (
        np.concatenate([near[0], other[0]]),
        np.concatenate([near[1], other[1]]),
        np.concatenate([near[2], other[2]]),
    )


class _Child:
    """A ``python -m ingest._cells`` process computing one :func:`cells_of` call.

    Its pickled arguments go in, and its pickled answer comes out, through temporary files
    (stdin and stdout): nothing waits on a pipe while this process computes its own half.
    """

    def __init__(self, args: tuple[Any, ...]) -> None:
        # The child finds ``ingest`` where this process found it, whatever the working folder.
        root = str(Path(ingest.__file__).resolve().parent.parent)
        paths = [root, *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self.output = tempfile.TemporaryFile()
        self.process: subprocess.Popen[bytes] | None = None
        with tempfile.TemporaryFile() as given:
            pickle.dump(args, given, protocol=pickle.HIGHEST_PROTOCOL)
            given.seek(0)
            with contextlib.suppress(OSError):
                self.process = subprocess.Popen(
                    [sys.executable, "-m", _CHILD_MODULE], stdin=given, stdout=self.output, env=env
                )

    def __enter__(self) -> _Child:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # this half failed: the other is not wanted
            self.process.wait()
        self.output.close()

    def result(self) -> Cells | None:
        """The child's cells, its exception raised here, or None when it did not finish."""
        if self.process is None or self.process.wait() != 0:
            return None
        self.output.seek(0)
        try:
            status, value = pickle.load(self.output)
        except (EOFError, pickle.UnpicklingError):
            return None
        if status == "error":
            raise value
        cells: Cells = value
        return cells


def _assemble(
    grid: Grid,
    ids: NDArray[Any],
    counts: NDArray[np.int64],
    cell: NDArray[np.int64],
    weight: NDArray[np.float32],
    area_px: NDArray[np.float64],
    min_fraction: float,
) -> PlotCoverage:
    """The CSR coverage from per-plot counts, dropping fractions at or below ``min_fraction``."""
    keep = weight > min_fraction
    if not keep.all():
        owner = np.repeat(np.arange(len(counts)), counts)
        counts = np.bincount(owner[keep], minlength=len(counts)).astype(np.int64)
        cell, weight = cell[keep], weight[keep]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows, cols = np.divmod(cell, grid.width)
    arrays = (ids, offsets, rows.astype(np.int32), cols.astype(np.int32), weight, area_px)
    for array in arrays:
        array.setflags(write=False)  # shared by every index computed on this coverage
    return PlotCoverage(grid, *arrays)


def _north_up(grid: Grid) -> Grid:
    if not grid.north_up:
        raise UnsupportedGrid(transform=tuple(grid.transform)[:6])
    return grid


def read_samples(
    dataset: Any, coverage: PlotCoverage, *, band: int = 1, strip_rows: int = 1024
) -> NDArray[Any]:
    """Read a raster band at every coverage entry, one row strip at a time.

    Only strips (and, within a strip, the column range) that hold plot pixels are read, so
    memory stays at one strip plus one value per entry, whatever the scene size.

    Args:
        dataset: an open rasterio dataset on ``coverage.grid``.
        coverage: the plots' coverage on that grid.
        band: 1-based band index.
        strip_rows: rows per read (a multiple of the block height reads whole blocks).

    Returns:
        One value per entry. Floating bands come back as float32 with NaN where the band is
        nodata or masked; integer bands (e.g. mask reason codes) come back unmasked, as is.

    Raises:
        GridMismatch: the dataset is not on the coverage's grid.
    """
    grid = _north_up(Grid.of(dataset))
    if not grid.same_as(coverage.grid):
        raise GridMismatch(expected=coverage.grid.describe(), got=grid.describe())
    floating = np.issubdtype(np.dtype(dataset.dtypes[band - 1]), np.floating)
    out = np.empty(coverage.n_cells, dtype=np.float32 if floating else dataset.dtypes[band - 1])
    order = coverage.row_order
    sorted_rows = coverage.rows[order]
    for top in range(0, grid.height, strip_rows):
        lo, hi = np.searchsorted(sorted_rows, [top, top + strip_rows])
        if lo == hi:
            continue
        picked = order[lo:hi]
        cols = coverage.cols[picked]
        left, right = int(cols.min()), int(cols.max()) + 1
        bottom = min(top + strip_rows, grid.height)
        window = ((top, bottom), (left, right))
        if floating:
            strip = dataset.read(band, window=window, masked=True)
            block = strip.filled(np.nan).astype(np.float32, copy=False)
        else:
            block = dataset.read(band, window=window)
        out[picked] = block[sorted_rows[lo:hi] - top, cols - left]
    return out
