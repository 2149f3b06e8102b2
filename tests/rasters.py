"""Tiny fixture COGs for the tile and map tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import MemoryFile
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles


def write_small_cog(
    path: Path,
    data: np.ndarray,
    *,
    crs: CRS,
    transform: Affine,
    nodata: float,
    scale: float = 1.0,
) -> None:
    """A small COG (bands × rows × cols; deflate, 32 px blocks, one overview) via rio-cogeo."""
    profile = {
        "driver": "GTiff",
        "dtype": str(data.dtype),
        "count": data.shape[0],
        "height": data.shape[1],
        "width": data.shape[2],
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    dst = cog_profiles.get("deflate")
    dst.update(blockxsize=32, blockysize=32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with MemoryFile() as mem:
        with mem.open(**profile) as src:
            src.write(data)
            src.scales = (scale,) * data.shape[0]
        with mem.open() as src:
            cog_translate(src, str(path), dst, overview_level=1, in_memory=True, quiet=True)
