"""The Process API's grid: the area on a UTM grid of whole pixels, split under the size limit.

The grid snaps outwards to multiples of the resolution in the UTM zone of the area's centre;
Sentinel-2 tiles have 10 m pixels at such multiples, so with nearest resampling (the
Process API default) the pixels Sentinel Hub returns are the native ones, not resampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from affine import Affine
from pyproj import Transformer

__all__ = ["EVALSCRIPT", "OUTPUT_BANDS", "REFLECTANCE_BANDS", "Grid", "split", "utm_grid"]

#: The catalogue's bands (the indices need no others), as digital numbers.
REFLECTANCE_BANDS: Final = ("B02", "B03", "B04", "B05", "B08", "B11")
#: Order of the bands in every Process API TIFF.
OUTPUT_BANDS: Final = (*REFLECTANCE_BANDS, "SCL", "dataMask")

#: UINT16 DN (reflectance x 10 000) like ESA's L2A files; SCL classes; dataMask 1 = data.
EVALSCRIPT: Final = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B02", "B03", "B04", "B05", "B08", "B11", "SCL", "dataMask"], units: "DN"}],
    output: {id: "default", bands: 8, sampleType: "UINT16"}
  };
}
function evaluatePixel(s) {
  return [s.B02, s.B03, s.B04, s.B05, s.B08, s.B11, s.SCL, s.dataMask];
}
"""


@dataclass(frozen=True)
class Grid:
    """A north-up grid in a UTM zone.

    Attributes:
        epsg: the UTM CRS (326xx north, 327xx south).
        west: left edge (m). south, east, north likewise.
        res: pixel size (m).
    """

    epsg: int
    west: float
    south: float
    east: float
    north: float
    res: float

    @property
    def width(self) -> int:
        """Columns."""
        return round((self.east - self.west) / self.res)

    @property
    def height(self) -> int:
        """Rows."""
        return round((self.north - self.south) / self.res)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """west, south, east, north (m)."""
        return self.west, self.south, self.east, self.north

    @property
    def transform(self) -> Affine:
        """The affine transform of the grid."""
        return Affine(self.res, 0.0, self.west, 0.0, -self.res, self.north)


def utm_grid(bbox: tuple[float, float, float, float], res: float) -> Grid:
    """The smallest grid of ``res``-metre pixels at multiples of ``res`` covering ``bbox``.

    Args:
        bbox: west, south, east, north in degrees (EPSG:4326).
        res: pixel size in metres.
    """
    west, south, east, north = bbox
    lon, lat = (west + east) / 2, (south + north) / 2
    zone = min(int((lon + 180) // 6) + 1, 60)
    epsg = (32600 if lat >= 0 else 32700) + zone
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    xmin, ymin, xmax, ymax = to_utm.transform_bounds(west, south, east, north, densify_pts=21)
    return Grid(
        epsg,
        math.floor(xmin / res) * res,
        math.floor(ymin / res) * res,
        math.ceil(xmax / res) * res,
        math.ceil(ymax / res) * res,
        res,
    )


def split(grid: Grid, max_pixels: int) -> list[tuple[int, int, Grid]]:
    """Tiles of at most ``max_pixels`` x ``max_pixels`` with their row and column offsets."""
    tiles = []
    for row in range(0, grid.height, max_pixels):
        for col in range(0, grid.width, max_pixels):
            rows = min(max_pixels, grid.height - row)
            cols = min(max_pixels, grid.width - col)
            north = grid.north - row * grid.res
            west = grid.west + col * grid.res
            tile = Grid(grid.epsg, west, north - rows * grid.res, west + cols * grid.res, north,
                        grid.res)  # fmt: skip
            tiles.append((row, col, tile))
    return tiles
