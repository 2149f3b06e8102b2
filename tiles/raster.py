"""PNG raster tiles of index and true-colour COGs, read with rio-tiler.

Tiles use the Web Mercator tile matrix (``WebMercatorQuad``: EPSG:3857, XYZ numbering, y down
from the north), 256 × 256 pixels, reprojected from the COG's CRS (UTM for Sentinel-2) with
nearest-neighbour resampling so no index value is blended with its neighbours or with no-data.

Index tiles: band 1 is read, unscaled (``value = stored × scale + offset``), mapped from the
catalogue colormap's display range onto the codes 1–255 of :meth:`Colormap.lut` and coloured
with that table. No-data and masked pixels are fully transparent (alpha 0): the map shows the
base layer there rather than the legend's grey no-data colour, which is meant for plots.
True-colour tiles are the COG's three uint8 bands with alpha 0 where the pixel is no-data.

A tile that does not touch the COG is a fully transparent PNG with status 200, never a 404 or
204: MapLibre logs every 404 tile as an error and treats 204 inconsistently across versions,
while an empty tile just draws nothing.

GDAL runs with the options of :data:`GDAL_OPTIONS` (sized for a 2-core server), set here
and nowhere else, through :func:`gdal_env`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from rio_tiler.constants import WEB_MERCATOR_TMS, WGS84_CRS
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from rio_tiler.reader import Options
from rio_tiler.utils import render

from models.indices.rendering import RGBA, Colormap
from tiles.vector import check_tile

__all__ = [
    "GDAL_OPTIONS",
    "PNG_MEDIA_TYPE",
    "TILE_SIZE",
    "TRUECOLOR",
    "RasterInfo",
    "empty_tile",
    "gdal_env",
    "index_codes",
    "open_cog",
    "raster_info",
    "render_tile",
]

#: Layer name of the true-colour COG of a scene (``raster_assets.kind``).
TRUECOLOR: Final = "truecolor"
TILE_SIZE: Final = 256
PNG_MEDIA_TYPE: Final = "image/png"

#: GDAL configuration for every raster read of the tile service (2 cores, local files only).
GDAL_OPTIONS: Final[Mapping[str, str | int]] = {
    # Decompress blocks on both cores; the default (1) leaves one idle on a lone request.
    "GDAL_NUM_THREADS": "2",
    # Block cache in MB (rasterio wants an int here); GDAL's default (5 % of RAM) is more than
    # a tile server of small clipped COGs needs, on a machine shared with PostgreSQL.
    "GDAL_CACHEMAX": 256,
    # COGs carry their overviews inside: listing the folder on every open only costs time.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}
#: The only GDAL driver allowed to open a COG here (the COG driver itself only writes).
_DRIVER: Final = "GTiff"


@dataclass(frozen=True)
class RasterInfo:
    """What a TileJSON needs to know of a COG.

    Attributes:
        bounds: west, south, east, north in degrees (EPSG:4326), densified from the COG's CRS.
        minzoom: zoom of the COG's coarsest theoretical overview (Web Mercator).
        maxzoom: zoom closest to the COG's native resolution (Web Mercator).
    """

    bounds: tuple[float, float, float, float]
    minzoom: int
    maxzoom: int


def gdal_env() -> rasterio.Env:
    """A ``rasterio.Env`` with :data:`GDAL_OPTIONS`; wrap every read in it."""
    return rasterio.Env(**GDAL_OPTIONS)


@contextmanager
def open_cog(path: Path, *, nodata: float | None = None) -> Iterator[Reader]:
    """A rio-tiler reader of a local COG opened with the GTiff driver only.

    Args:
        path: absolute path of a file already checked to lie in the raster store.
        nodata: stored no-data value overriding the file's (``None``: use the file's).
    """
    options: Options = {} if nodata is None else {"nodata": nodata}
    with (
        gdal_env(),
        rasterio.open(path, driver=_DRIVER) as dataset,
        Reader(None, dataset=dataset, tms=WEB_MERCATOR_TMS, options=options) as reader,
    ):
        yield reader


def raster_info(path: Path) -> RasterInfo:
    """Geographic bounds and the zoom range of the COG at ``path``."""
    with open_cog(path) as reader:
        west, south, east, north = reader.get_geographic_bounds(WGS84_CRS)
        return RasterInfo(
            bounds=(float(west), float(south), float(east), float(north)),
            minzoom=int(reader.minzoom),
            maxzoom=int(reader.maxzoom),
        )


def render_tile(
    *,
    path: Path,
    z: int,
    x: int,
    y: int,
    kind: str,
    scale: float,
    offset: float,
    nodata: float | None,
    colormap: Colormap | None,
) -> bytes:
    """One 256 × 256 PNG tile (RGBA) of the COG at ``path`` in Web Mercator XYZ ``z/x/y``.

    Args:
        path: absolute path of the COG, already checked to lie in the raster store.
        z: zoom level; x, y: column and row (validated here as well as by the route).
        kind: :data:`TRUECOLOR` or an index name; only the distinction matters here.
        scale: index units per stored step (``value = stored × scale + offset``).
        offset: index value of stored 0.
        nodata: stored no-data value (``None``: the file's own).
        colormap: the index's colormap; required unless ``kind`` is :data:`TRUECOLOR`.

    Returns:
        PNG bytes; a fully transparent tile where the COG has nothing.
    """
    check_tile(z, x, y, max_zoom=WEB_MERCATOR_TMS.maxzoom)
    truecolor = kind == TRUECOLOR
    if not truecolor and colormap is None:
        raise ValueError(f"index layer {kind!r} needs a colormap")
    with open_cog(path, nodata=nodata) as reader:
        try:
            image = reader.tile(x, y, z, tilesize=TILE_SIZE, indexes=(1, 2, 3) if truecolor else 1)
        except TileOutsideBounds:
            return empty_tile()
    if truecolor:
        return image.render(img_format="PNG")
    assert colormap is not None  # checked above; for mypy
    codes = index_codes(image, scale=scale, offset=offset, display_range=colormap.display_range)
    return codes.render(img_format="PNG", colormap=_lut(colormap))


# Pure functions below: no I/O.


def index_codes(
    image: ImageData, *, scale: float, offset: float, display_range: tuple[float, float]
) -> ImageData:
    """Stored index values → uint8 colormap codes: 1–255 over ``display_range``, 0 if masked.

    Values are unscaled, clamped to the display range and rounded to the nearest code: the
    range maps onto 1.5–255.5 and rio-tiler's cast to uint8 truncates, so code ``i`` covers
    the values nearest to the colour :meth:`Colormap.lut` gives entry ``i``.
    """
    values = ImageData(
        image.array.astype(np.float64) * scale + offset,
        bounds=image.bounds,
        crs=image.crs,
    )
    return values.post_process(in_range=(display_range,), out_range=((1.5, 255.5),))


@cache
def _lut(colormap: Colormap) -> dict[int, RGBA]:
    return colormap.lut()


@cache
def empty_tile() -> bytes:
    """A 256 × 256 RGBA PNG with every pixel transparent."""
    rgb = np.zeros((3, TILE_SIZE, TILE_SIZE), dtype=np.uint8)
    alpha = np.zeros((TILE_SIZE, TILE_SIZE), dtype=np.uint8)
    return render(rgb, alpha, img_format="PNG")
