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

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource
from exactextract.writer import Writer
from numpy.typing import NDArray
from pyproj import CRS

from ingest.errors import IngestError
from ingest.satellite._grid import Grid, GridLike

__all__ = [
    "CrsMismatch",
    "GridMismatch",
    "PlotCoverage",
    "PlotsWithoutCrs",
    "StatsError",
    "UnsupportedGrid",
    "compute_coverage",
    "read_samples",
]

#: exactextract's warning when features and raster differ in CRS (it then finds no pixels).
_CRS_WARNING = "Spatial reference system of input features does not exactly match"


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

    writer = _CsrWriter(len(ids))
    if len(positions):
        source = _WkbSource(positions, shapely.to_wkb(geoms[positions]), projected.crs.to_wkt())
        # Coverage does not depend on pixel values: a zero-strided array gives exactextract
        # the grid without allocating it.
        zeros = np.broadcast_to(np.float32(0), grid.shape)
        raster = NumPyRasterSource(zeros, *grid.bounds, srs_wkt=crs.to_wkt())
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=_CRS_WARNING, category=RuntimeWarning)
            try:
                exact_extract(
                    raster, source, ["cell_id", "coverage"], include_cols=["pos"], output=writer
                )
            except RuntimeWarning as warning:
                raise CrsMismatch(
                    plots_crs=projected.crs.to_string(), raster_crs=crs.to_string()
                ) from warning
    return writer.coverage(grid, ids, area_px.astype(np.float64), min_fraction)


def _north_up(grid: Grid) -> Grid:
    if not grid.north_up:
        raise UnsupportedGrid(transform=tuple(grid.transform)[:6])
    return grid


class _Feature(Feature):  # type: ignore[misc]
    """A feature as exactextract sees it: named values and, for inputs, a WKB geometry."""

    def __init__(self, values: dict[str, Any] | None = None, wkb: bytes | None = None) -> None:
        Feature.__init__(self)
        self.values = values if values is not None else {}
        self.wkb = wkb

    def geometry(self) -> bytes | None:
        return self.wkb

    def get(self, name: str) -> Any:
        return self.values[name]

    def set(self, name: str, value: object) -> None:
        self.values[name] = value

    def fields(self) -> list[str]:
        return list(self.values)

    def set_geometry(self, wkb: bytes | None) -> None:
        """Results carry no geometry: nothing to keep."""

    def set_geometry_format(self) -> str:
        return "wkb"


class _WkbSource(FeatureSource):  # type: ignore[misc]
    """Plots as WKB (cheaper than geopandas' GeoJSON round trip), in the grid's CRS."""

    def __init__(self, positions: NDArray[np.intp], wkbs: NDArray[Any], srs_wkt: str) -> None:
        super().__init__()
        self.positions = positions
        self.wkbs = wkbs
        self.srs = srs_wkt

    def count(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[_Feature]:
        for pos, wkb in zip(self.positions, self.wkbs, strict=True):
            yield _Feature({"pos": int(pos)}, wkb)

    def srs_wkt(self) -> str:
        return self.srs


class _CsrWriter(Writer):  # type: ignore[misc]
    """Collects exactextract's per-plot cell ids and coverages into CSR arrays."""

    def __init__(self, n_plots: int) -> None:
        super().__init__()
        self.cells: list[NDArray[np.int64]] = [np.empty(0, np.int64)] * n_plots
        self.fractions: list[NDArray[np.float32]] = [np.empty(0, np.float32)] * n_plots

    def write(self, feature: Any) -> None:
        record = _Feature()
        feature.copy_to(record)
        pos = int(record.values["pos"])
        self.cells[pos] = np.asarray(record.values["cell_id"], dtype=np.int64)
        # exactextract computes fractions in float32: nothing is lost.
        self.fractions[pos] = np.asarray(record.values["coverage"], dtype=np.float32)

    def features(self) -> None:
        return None

    def coverage(
        self,
        grid: Grid,
        ids: NDArray[Any],
        area_px: NDArray[np.float64],
        min_fraction: float,
    ) -> PlotCoverage:
        """Assemble the collected arrays, dropping fractions at or below ``min_fraction``."""
        counts = np.array([len(c) for c in self.cells], dtype=np.int64)
        cell = np.concatenate([np.empty(0, np.int64), *self.cells])
        weight = np.concatenate([np.empty(0, np.float32), *self.fractions])
        self.cells, self.fractions = [], []
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
