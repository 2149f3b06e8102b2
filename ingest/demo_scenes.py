"""Generated Sentinel-2 L2A-like scenes over the demo county: a year of seasonal tea NDVI.

Nothing here is satellite data. :func:`generate_demo_scenes` writes one folder per invented
acquisition in 2025 (``GENERATED_DEMO_S2L2A_<yyyymmdd>``) in the one-file-per-band layout
that :func:`ingest.satellite._inputs.find_scenes` reads: B02, B03, B04, B08 at 10 m, B05 and
B11 at 20 m (every band the index catalogue's NDVI, EVI, SAVI, NDREI, GNDVI and NDMI need),
an SCL at 20 m and an ``MTD_MSIL2A.xml`` of processing baseline 04.00 (quantification 10000,
BOA_ADD_OFFSET −1000), so the ingest runs its real radiometry path. The grid is UTM 49N
(EPSG:32649) over the plots' extent plus :data:`MARGIN_M`, its edges on multiples of 20 m so
the 10 m and 20 m grids nest. Every file and folder says it is generated.

Reflectance model (unitless, before ``DN = reflectance × 10000 + 1000``): each pixel gets an
intended NDVI ``n``; red is chosen as ``0.155 − 0.15 n`` and NIR derived as
``red (1 + n) / (1 − n)`` from the quantised red, so the pixel NDVI is ``n`` to ~1e-4. Every
10 m pixel a plot touches takes the plot's NDVI (:func:`intended_ndvi`: the tea curve
:func:`tea_ndvi` plus a per-plot offset); a pixel touched by several plots takes their mean.
Other pixels are evergreen forest (:func:`forest_ndvi` plus a fixed texture). Green, blue,
red edge and SWIR follow from red and NIR. On a couple of dates a cloud blob (SCL 9, 8, and
thin cirrus 10 at its edge) with its shadow (SCL 3) covers part of the county; clear pixels
are SCL 4. The output is byte-identical for a seed.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from rasterio.enums import MergeAlg
from rasterio.features import rasterize

from ingest.satellite.metadata import mtd_text
from models.errors import InvalidParameter

__all__ = [
    "MARGIN_M",
    "SCENE_PREFIX",
    "SCENE_CRS",
    "cloudy_dates",
    "forest_ndvi",
    "generate_demo_scenes",
    "intended_ndvi",
    "plot_offset",
    "scene_dates",
    "tea_ndvi",
]

SCENE_PREFIX: Final = "GENERATED_DEMO_S2L2A"
SCENE_CRS: Final = "EPSG:32649"
#: Ground around the plots' extent covered by the scenes (metres).
MARGIN_M: Final = 500.0
YEAR: Final = 2025
_QUANTIFICATION: Final = 10000
_OFFSET_DN: Final = 1000  # DN = reflectance × 10000 − BOA_ADD_OFFSET (−1000)
_LABEL: Final = (
    "SkyGround demo: generated (simulated) Sentinel-2 L2A-like scene, not Copernicus data"
)
#: Tea in Hunan, (day of year, NDVI): winter dormancy, spring flush to early May, the dip
#: after spring plucking, summer high with a dip after summer plucking, autumn decline.
_TEA: Final = (
    (1, 0.50), (46, 0.48), (74, 0.56), (100, 0.72), (121, 0.78), (140, 0.66),
    (166, 0.76), (191, 0.80), (206, 0.72), (232, 0.79), (263, 0.74), (293, 0.66),
    (324, 0.58), (365, 0.50),
)  # fmt: skip
#: Subtropical evergreen broadleaf and Masson pine forest around the gardens.
_FOREST: Final = ((1, 0.70), (60, 0.69), (120, 0.82), (200, 0.87), (280, 0.82), (365, 0.70))
#: Bands written: Sentinel-2 id → resolution (metres).
_BANDS: Final = {"B02": 10, "B03": 10, "B04": 10, "B08": 10, "B05": 20, "B11": 20}
_GTIFF: Final = {
    "driver": "GTiff", "dtype": "uint16", "nodata": 0, "compress": "deflate",
    "predictor": 2, "tiled": True, "blockxsize": 256, "blockysize": 256,
}  # fmt: skip


def _curve(points: tuple[tuple[int, float], ...], day: date) -> float:
    doy = day.timetuple().tm_yday
    return float(np.interp(doy, [p[0] for p in points], [p[1] for p in points]))


def tea_ndvi(day: date) -> float:
    """NDVI of an average tea garden on ``day`` (the seasonal curve, piecewise linear)."""
    return _curve(_TEA, day)


def forest_ndvi(day: date) -> float:
    """NDVI of the forest background on ``day``, before its fixed spatial texture."""
    return _curve(_FOREST, day)


def plot_offset(code: str, seed: int) -> float:
    """The plot's own NDVI offset (−0.03 … 0.03), fixed by its code and the seed."""
    return round(random.Random(f"{seed}/{code}").uniform(-0.03, 0.03), 4)


def intended_ndvi(code: str, day: date, seed: int) -> float:
    """The NDVI every pixel of plot ``code`` gets on ``day`` where no other plot touches it."""
    return tea_ndvi(day) + plot_offset(code, seed)


def scene_dates(count: int, seed: int) -> list[date]:
    """``count`` acquisition dates spread over 2025 on a 5-day revisit, chosen by ``seed``."""
    if not 1 <= count <= 24:
        raise InvalidParameter(name="count", reason=f"{count} (1 to 24 scenes)")
    rng = random.Random(seed)
    revisits = [date(YEAR, 1, 3) + timedelta(days=5 * k) for k in range(73)]
    days: list[date] = []
    for i in range(count):
        centre = date(YEAR, 1, 1) + timedelta(days=round(365 * (i + 0.5) / count))
        later = [d for d in revisits if not days or d > days[-1]]
        near = [d for d in later if abs((d - centre).days) <= 7] or later[:1]
        days.append(rng.choice(near))
    return days


def cloudy_dates(days: list[date], seed: int) -> list[date]:
    """The dates with a cloud over the county: two of the March–September ones (≥ 6 dates)."""
    rng = random.Random(f"{seed}/clouds")
    wet = [d for d in days if 3 <= d.month <= 9] or list(days)
    return sorted(rng.sample(wet, min(len(wet), 2 if len(days) >= 6 else len(days) // 3)))


def generate_demo_scenes(
    folder: Path, *, plots: Path | gpd.GeoDataFrame, count: int = 12, seed: int = 7
) -> list[Path]:
    """Write ``count`` generated scenes over ``plots``; their folders, oldest first.

    Args:
        folder: parent folder; created if missing. Generated scene folders in it that this
            call does not write (another count or seed) are removed; nothing else is touched.
        plots: the plots (a file or a frame with ``code`` and polygons in any declared CRS).
        count: number of acquisitions in 2025.
        seed: fixes dates, clouds, plot offsets and the forest texture.

    Raises:
        InvalidParameter: ``count`` is not 1 to 24.
    """
    frame = plots if isinstance(plots, gpd.GeoDataFrame) else gpd.read_file(plots)
    frame = frame.to_crs(SCENE_CRS)
    transform, shape = _grid(frame.total_bounds)
    count_px, offsets = _plot_pixels(frame, transform, shape, seed)
    texture = _texture(shape, seed)
    days = scene_dates(count, seed)
    cloudy = cloudy_dates(days, seed)
    centres = frame.geometry.representative_point()
    rng = random.Random(f"{seed}/cloud-centres")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for day in days:
        scl = np.full((shape[0] // 2, shape[1] // 2), 4, dtype=np.uint8)
        if day in cloudy:
            centre = centres.iloc[rng.randrange(len(centres))]
            _add_cloud(scl, transform * Affine.scale(2), (centre.x, centre.y), rng)
        plot_ndvi = tea_ndvi(day) + offsets / np.maximum(count_px, 1)
        ndvi = np.where(count_px > 0, plot_ndvi, forest_ndvi(day) + texture)
        written.append(_write_scene(folder, day, ndvi, scl, transform))
    _remove_stale(folder, {p.name for p in written})
    return written


def _grid(bounds: npt.NDArray[np.float64]) -> tuple[Affine, tuple[int, int]]:
    """North-up 10 m grid over ``bounds`` plus the margin, edges on multiples of 20 m."""
    xmin, ymin, xmax, ymax = bounds
    x0, y0 = np.floor((xmin - MARGIN_M) / 20) * 20, np.floor((ymin - MARGIN_M) / 20) * 20
    x1, y1 = np.ceil((xmax + MARGIN_M) / 20) * 20, np.ceil((ymax + MARGIN_M) / 20) * 20
    shape = (int(round((y1 - y0) / 10)), int(round((x1 - x0) / 10)))
    return Affine(10.0, 0.0, float(x0), 0.0, -10.0, float(y1)), shape


def _plot_pixels(
    frame: gpd.GeoDataFrame, transform: Affine, shape: tuple[int, int], seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per 10 m pixel: how many plots touch it, and the sum of their NDVI offsets."""
    geoms = list(frame.geometry)
    offsets = [plot_offset(str(code), seed) for code in frame["code"]]
    opts = {"out_shape": shape, "transform": transform, "all_touched": True,
            "merge_alg": MergeAlg.add, "dtype": "float64"}  # fmt: skip
    count = rasterize(((g, 1.0) for g in geoms), **opts)
    total = rasterize(zip(geoms, offsets, strict=True), **opts)
    return count, total


def _texture(shape: tuple[int, int], seed: int) -> npt.NDArray[np.float64]:
    """A fixed, smooth NDVI pattern (standard deviation ≈ 0.02) so the forest is not flat."""
    noise = np.random.default_rng(seed).uniform(-0.06, 0.06, (shape[0] + 2, shape[1] + 2))
    smooth = sum(noise[i : i + shape[0], j : j + shape[1]] for i in range(3) for j in range(3))
    return np.asarray(smooth, dtype=np.float64) / 9 * 2


def _add_cloud(
    scl: npt.NDArray[np.uint8], transform: Affine, centre: tuple[float, float], rng: random.Random
) -> None:
    """A cloud blob (about 2.4 × 1.4 km) around ``centre`` and its shadow, on the 20 m SCL."""
    rows, cols = np.indices(scl.shape)
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    a, b, phase = rng.uniform(1000, 1400), rng.uniform(600, 800), rng.uniform(0, 6.28)

    def distance(dx: float, dy: float) -> npt.NDArray[np.float64]:
        u, v = (x - centre[0] - dx) / a, (y - centre[1] - dy) / b
        return np.asarray(np.hypot(u, v) * (1 + 0.15 * np.sin(3 * np.arctan2(v, u) + phase)))

    # Shadow towards the north-north-west: the sun stands SSE of Anhua at the ~11:00 overpass.
    shadow = distance(-450.0, 800.0)
    scl[shadow < 0.85] = 3
    cloud = distance(0.0, 0.0)
    scl[cloud < 1.0] = 10
    scl[cloud < 0.85] = 8
    scl[cloud < 0.6] = 9


def _reflectance(
    ndvi: npt.NDArray[np.float64], scl: npt.NDArray[np.uint8]
) -> dict[str, npt.NDArray[np.uint16]]:
    """DN of every band from the intended NDVI (10 m) and the SCL (20 m)."""
    red_dn = np.rint((0.155 - 0.15 * ndvi) * _QUANTIFICATION) + _OFFSET_DN
    red = (red_dn - _OFFSET_DN) / _QUANTIFICATION
    nir = red * (1 + ndvi) / (1 - ndvi)
    refl = {"B04": red, "B08": nir, "B03": 0.5 * red + 0.12 * nir + 0.01, "B02": 0.6 * red + 0.01}
    red20, nir20 = (_block_mean(refl[b]) for b in ("B04", "B08"))
    refl["B05"] = 0.55 * red20 + 0.25 * nir20 + 0.01
    refl["B11"] = 0.30 - 0.14 * (nir20 - red20) / (nir20 + red20)
    cloud20, shadow20 = np.isin(scl, (8, 9, 10)), scl == 3
    cloud10, shadow10 = (np.kron(m, np.ones((2, 2), dtype=bool)) for m in (cloud20, shadow20))
    out = {}
    for name, values in refl.items():
        cloud, shadow = (cloud10, shadow10) if _BANDS[name] == 10 else (cloud20, shadow20)
        values = np.where(shadow, values * 0.35, values)
        values = np.where(cloud, 0.30 if name == "B11" else 0.42, values)
        # Clear red gives back exactly the DN chosen above: (DN − 1000) / 10000 × 10000.
        dn = np.rint(values * _QUANTIFICATION) + _OFFSET_DN
        out[name] = np.clip(dn, 1, 65534).astype(np.uint16)
    return out


def _block_mean(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    rows, cols = values.shape
    return np.asarray(values.reshape(rows // 2, 2, cols // 2, 2).mean(axis=(1, 3)))


def _write_scene(
    folder: Path,
    day: date,
    ndvi: npt.NDArray[np.float64],
    scl: npt.NDArray[np.uint8],
    transform: Affine,
) -> Path:
    name = f"{SCENE_PREFIX}_{day:%Y%m%d}"
    scene = folder / name
    scene.mkdir(exist_ok=True)
    for band, dn in _reflectance(ndvi, scl).items():
        _write_tif(scene / f"{name}_{band}_{_BANDS[band]}m.tif", dn, transform, _BANDS[band])
    _write_tif(scene / f"{name}_SCL_20m.tif", scl, transform, 20)
    (scene / "MTD_MSIL2A.xml").write_text(_mtd(day, name), encoding="utf-8")
    return scene


def _write_tif(path: Path, data: npt.NDArray[np.generic], transform: Affine, res: int) -> None:
    profile = {**_GTIFF, "dtype": str(data.dtype), "crs": SCENE_CRS,
               "transform": transform * Affine.scale(res / 10),
               "height": data.shape[0], "width": data.shape[1], "count": 1}  # fmt: skip
    if data.dtype == np.uint8:
        profile.update(nodata=None, predictor=1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(GENERATED=_LABEL)


def _mtd(day: date, name: str) -> str:
    """A trimmed L2A metadata file: baseline 04.00, quantification 10000, offsets −1000."""
    return mtd_text(
        product=name,
        start_time=f"{day:%Y-%m-%d}T03:06:00.000Z",
        baseline="04.00",
        offset_dn=-_OFFSET_DN,
        comment=_LABEL,
        quantification=_QUANTIFICATION,
    )


def _remove_stale(folder: Path, keep: set[str]) -> None:
    for path in folder.iterdir():
        if path.is_dir() and path.name.startswith(SCENE_PREFIX) and path.name not in keep:
            shutil.rmtree(path)
