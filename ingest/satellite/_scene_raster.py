"""Raster side of a scene ingest: footprint, clip window, clear fraction."""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from rasterio.windows import Window, from_bounds

from ingest.satellite._grid import Grid
from ingest.satellite.stats import StatsTable

__all__ = ["CLIP_MARGIN_M", "clear_fraction", "clip_window", "footprint"]

#: Margin around the plots' extent kept in the COGs (metres, the scene CRS's unit).
CLIP_MARGIN_M: Final = 50.0


def footprint(grid: Grid) -> shapely.Geometry:
    """Raster bounds in EPSG:4326, edges densified (10 points a side) before reprojection."""
    rows, cols = grid.shape
    t = grid.transform
    box = shapely.box(t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
    dense = shapely.segmentize(box, max(abs(cols * t.a), abs(rows * t.e)) / 10)
    to_wgs84 = Transformer.from_crs(grid.crs, 4326, always_xy=True)
    coords = shapely.get_coordinates(dense)
    x, y = to_wgs84.transform(coords[:, 0], coords[:, 1])
    polygon = shapely.Polygon(np.column_stack([x, y]))
    return shapely.set_precision(polygon, 1e-9)


def clip_window(grid: Grid, plots: gpd.GeoDataFrame) -> Window:
    rows, cols = grid.shape
    full = Window(0, 0, cols, rows)
    if not len(plots):
        return full
    xmin, ymin, xmax, ymax = plots.to_crs(grid.crs).total_bounds
    m = CLIP_MARGIN_M
    wanted = from_bounds(xmin - m, ymin - m, xmax + m, ymax + m, grid.transform)
    snapped = wanted.round_offsets(op="floor").round_lengths(op="ceil")
    return snapped.intersection(full)


def clear_fraction(table: StatsTable | None, *, mask_clear: float) -> float | None:
    if table is None:
        return mask_clear
    inside = table.total_weight > 0
    total = float(table.total_weight[inside].sum())
    if total == 0:
        return mask_clear
    return float((table.clear_fraction[inside] * table.total_weight[inside]).sum() / total)
