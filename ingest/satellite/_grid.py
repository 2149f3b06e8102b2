"""Pixel grids and moving arrays between them (SCL 20 m → 10 m, band files onto one grid).

:class:`Grid` is the one record of a raster's grid (CRS, transform, shape): the readers put
bands on it, masks are moved between grids with :func:`warp`, and per-plot coverage
(:mod:`._coverage`) is computed on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import Resampling, reproject

__all__ = ["Grid", "GridLike", "nest_factor", "to_dataarray", "warp"]


class GridLike(Protocol):
    """Anything with a CRS, an affine transform and a (rows, cols) shape.

    rasterio datasets and :class:`Grid` qualify.
    """

    @property
    def crs(self) -> Any:
        """The CRS (rasterio, pyproj or anything with ``to_wkt``)."""

    @property
    def transform(self) -> Affine:
        """Affine transform of the top-left pixel corner."""

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""


@dataclass(frozen=True)
class Grid:
    """The pixel grid of a raster: CRS, affine transform and size.

    Grids of Sentinel-2 products are north-up; :attr:`north_up` tells, and per-plot coverage
    refuses the others.

    Attributes:
        crs: coordinate reference system of the grid (e.g. EPSG:32649, UTM 49N, for
            Sentinel-2 over Anhua); any CRS rasterio accepts is turned into a rasterio CRS.
        transform: affine transform of the top-left corner (pixel edges, not centres),
            (col, row) → (x, y) in CRS units.
        shape: (rows, columns).
    """

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        # One CRS type, so that grids compare equal whatever CRS object they were made with.
        if not isinstance(self.crs, CRS):
            object.__setattr__(self, "crs", CRS.from_user_input(self.crs))

    @classmethod
    def of(cls, source: xr.DataArray | GridLike) -> Grid:
        """The grid of a DataArray (rioxarray CRS and transform) or a rasterio dataset.

        Any other grid-like record (CRS, transform, shape) works too; a Grid is returned as is.
        """
        if isinstance(source, Grid):
            return source
        if isinstance(source, xr.DataArray):
            return cls._of_dataarray(source)
        return cls(
            CRS.from_user_input(source.crs),
            Affine(*tuple(source.transform)[:6]),
            (int(source.shape[0]), int(source.shape[1])),
        )

    @classmethod
    def _of_dataarray(cls, data: xr.DataArray) -> Grid:
        crs = data.rio.crs
        if crs is None:
            raise ValueError(f"{data.name!r} carries no CRS")
        shape = (int(data.sizes["y"]), int(data.sizes["x"]))
        x, y = np.asarray(data["x"].values), np.asarray(data["y"].values)
        if x.size > 1 and y.size > 1:
            # From the pixel-centre coordinates; rioxarray's own transform() does the same
            # but warns with affine 3.
            dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
            transform = Affine(dx, 0.0, float(x[0]) - dx / 2, 0.0, dy, float(y[0]) - dy / 2)
        else:
            transform = data.rio.transform()
        return cls(CRS.from_user_input(crs), transform, shape)

    @property
    def height(self) -> int:
        """Number of rows."""
        return self.shape[0]

    @property
    def width(self) -> int:
        """Number of columns."""
        return self.shape[1]

    @property
    def north_up(self) -> bool:
        """Whether the transform has no rotation, positive pixel width and rows going south."""
        t = self.transform
        return t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (metres for UTM)."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """left, bottom, right, top in CRS units (of a north-up grid)."""
        t, (rows, cols) = self.transform, self.shape
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in squared CRS units (m² for UTM)."""
        return float(abs(self.transform.a * self.transform.e))

    def describe(self) -> str:
        """A short text naming CRS, shape and transform, for error messages."""
        return f"{self.crs.to_string()} {self.height}x{self.width} {tuple(self.transform)[:6]}"

    def same_as(self, other: Grid, *, tolerance: float = 1e-6) -> bool:
        """Whether ``other`` is the same grid (transform equal to ``tolerance`` pixels)."""
        if self.shape != other.shape or self.crs != other.crs:
            return False
        return bool(self.transform.almost_equals(other.transform, precision=tolerance))


def nest_factor(src: Grid, dst: Grid) -> int | None:
    """``k`` when every ``dst`` pixel lies inside one ``src`` pixel of k × k dst pixels.

    That is: same CRS, no rotation, src pixels exactly k times the size of dst pixels, dst
    edges on src's lattice of dst-sized steps and dst inside src. None otherwise.
    """
    s, d = src.transform, dst.transform
    if src.crs != dst.crs or s.b or s.d or d.b or d.d or d.a <= 0 or d.e >= 0:
        return None
    kx, ky = s.a / d.a, s.e / d.e
    k = round(kx)
    if k < 1 or not np.isclose(kx, k) or not np.isclose(ky, k):
        return None
    col_off, row_off = (d.c - s.c) / d.a, (d.f - s.f) / d.e
    if not (np.isclose(col_off, round(col_off)) and np.isclose(row_off, round(row_off))):
        return None
    c0, r0 = round(col_off), round(row_off)
    rows, cols = dst.shape
    if c0 < 0 or r0 < 0 or r0 + rows > src.shape[0] * k or c0 + cols > src.shape[1] * k:
        return None
    return k


def warp(
    array: npt.NDArray[Any],
    src: Grid,
    dst: Grid,
    *,
    resampling: Resampling = Resampling.nearest,
    nodata: float | int,
) -> npt.NDArray[Any]:
    """Move a 2-D array from ``src`` onto ``dst``; pixels outside ``src`` get ``nodata``.

    When the grids nest and ``resampling`` is nearest, pixels are replicated exactly (each
    src pixel becomes k × k dst pixels); otherwise rasterio's ``reproject`` does the work.
    """
    k = nest_factor(src, dst) if resampling == Resampling.nearest else None
    if k is not None:
        r0 = round((dst.transform.f - src.transform.f) / dst.transform.e)
        c0 = round((dst.transform.c - src.transform.c) / dst.transform.a)
        rows, cols = dst.shape
        # Only the src block under dst is replicated, not the whole array.
        rs, cs = r0 // k, c0 // k
        re, ce = (r0 + rows - 1) // k + 1, (c0 + cols - 1) // k + 1
        block = np.repeat(np.repeat(array[rs:re, cs:ce], k, axis=0), k, axis=1)
        return block[r0 - rs * k : r0 - rs * k + rows, c0 - cs * k : c0 - cs * k + cols].copy()
    out = np.full(dst.shape, nodata, dtype=array.dtype)
    reproject(
        source=array,
        destination=out,
        src_transform=src.transform,
        src_crs=src.crs,
        src_nodata=nodata,
        dst_transform=dst.transform,
        dst_crs=dst.crs,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out


def to_dataarray(
    values: npt.NDArray[Any], grid: Grid, *, name: str, attrs: dict[str, Any] | None = None
) -> xr.DataArray:
    """A georeferenced (y, x) DataArray of ``values`` on ``grid`` (pixel-centre coordinates)."""
    t = grid.transform
    rows, cols = grid.shape
    data = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={
            "y": t.f + (np.arange(rows) + 0.5) * t.e,
            "x": t.c + (np.arange(cols) + 0.5) * t.a,
        },
        name=name,
        attrs=attrs or {},
    )
    located: xr.DataArray = data.rio.write_crs(grid.crs).rio.write_transform(t)
    return located
