"""Pixel grids and moving arrays between them (SCL 20 m → 10 m, band files onto one grid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import Resampling, reproject

__all__ = ["Grid", "nest_factor", "to_dataarray", "warp"]


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid.

    Attributes:
        crs: coordinate reference system of the grid.
        transform: affine transform of the top-left corner (pixel edges, not centres).
        shape: (rows, columns).
    """

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (metres for UTM)."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """left, bottom, right, top in CRS units."""
        t, (rows, cols) = self.transform, self.shape
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @classmethod
    def of(cls, data: xr.DataArray) -> Grid:
        """The grid of a georeferenced DataArray (rioxarray CRS and transform)."""
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
