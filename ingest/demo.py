"""Generated demo data for an Anhua-like hill county: admin units and terraced tea plots.

:func:`generate_clip_plots` adds a few invented plots over a real Sentinel-2 clip elsewhere
(the Barbellino clip in the Italian Alps shipped with the tests), so the demo can show real
imagery; those plots are labelled as drawn over that clip, not as Anhua plots.

Everything here is invented (boundaries, names, owners) and labelled as generated; only the
county code (430923, 安化县) and the rough location are real. Plots are written in the
CGCS2000 Gauss–Krüger 3° zone with central meridian 111°E (EPSG:4546), as land records are,
so the demo also runs the projected-CRS import path. Coordinates are metres (easting,
northing); the output is deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import rasterio
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from ingest.satellite._inputs import find_scenes
from models.errors import InvalidParameter

__all__ = ["CLIP_LABEL", "DemoFiles", "clip_extent", "generate_clip_plots", "generate_demo"]

GK_CRS = "EPSG:4546"
# About 111.20°E, 28.38°N in EPSG:4546 (easting, northing in metres).
ORIGIN_E, ORIGIN_N = 519_600.0, 3_140_000.0
LABEL = "生成的演示数据（非真实地块）/ generated demo data, not real parcels"

TOWNSHIPS = [("430923100", "东坪镇（演示）"), ("430923101", "江南镇（演示）")]
VILLAGE_NAMES = ["高马村", "云台村", "洞市村", "黄沙村", "马路村", "仙溪村"]
SURNAMES = "刘李陈王张黄周吴谌夏龙彭罗谭曾贺"
GIVEN = ["建国", "桂花", "志强", "秀英", "茶生", "春兰", "德明", "小红", "国平", "玉梅"]
VARIETIES = ["云台山大叶种", "槠叶齐", "湘波绿2号", "福鼎大白茶", "碧香早"]
COOPERATIVES = [
    "云台山黑茶专业合作社（演示）",
    "高马二溪茶叶合作社（演示）",
    "资江茶农合作社（演示）",
]


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the generated files and what they hold."""

    county: Path
    townships: Path
    villages: Path
    plots: Path
    plot_count: int


def _wobbly_box(x0: float, y0: float, x1: float, y1: float, rng: random.Random) -> Polygon:
    """A rectangle whose edges meander a little, like boundaries following streams."""
    points: list[tuple[float, float]] = []
    steps = 12
    for i in range(steps):
        points.append((x0 + (x1 - x0) * i / steps, y0 + rng.uniform(-40, 40)))
    for i in range(steps):
        points.append((x1 + rng.uniform(-40, 40), y0 + (y1 - y0) * i / steps))
    for i in range(steps):
        points.append((x1 - (x1 - x0) * i / steps, y1 + rng.uniform(-40, 40)))
    for i in range(steps):
        points.append((x0 + rng.uniform(-40, 40), y1 - (y1 - y0) * i / steps))
    return Polygon(points).buffer(0)


def _terrace(cx: float, cy: float, radius: float, width: float, a0: float, a1: float) -> Polygon:
    """A terrace strip: the sector of an annulus between angles ``a0`` and ``a1`` (radians)."""
    n = max(4, int((a1 - a0) * radius / 8))
    outer = [
        (
            cx + (radius + width) * math.cos(a0 + (a1 - a0) * i / n),
            cy + 0.7 * (radius + width) * math.sin(a0 + (a1 - a0) * i / n),
        )
        for i in range(n + 1)
    ]
    inner = [
        (
            cx + radius * math.cos(a1 - (a1 - a0) * i / n),
            cy + 0.7 * radius * math.sin(a1 - (a1 - a0) * i / n),
        )
        for i in range(n + 1)
    ]
    return Polygon(outer + inner)


def _plots_in(
    village: BaseGeometry, code: str, name: str, rng: random.Random
) -> list[dict[str, object]]:
    """Terraced tea plots on one or two hills inside a village, none overlapping."""
    rows: list[dict[str, object]] = []
    minx, miny, maxx, maxy = village.bounds
    hills = [
        (minx + (maxx - minx) * fx, miny + (maxy - miny) * fy)
        for fx, fy in ((0.35, 0.4), (0.7, 0.65))
    ]
    for cx, cy in hills:
        radius = 60.0
        while radius < 420:
            width = rng.uniform(9, 16)
            angle = rng.uniform(0, 0.4)
            while angle < 2 * math.pi - 0.3:
                span = rng.uniform(60, 150) / radius
                strip = _terrace(cx, cy, radius, width, angle, min(angle + span, 2 * math.pi - 0.2))
                keep = rng.random() < 0.55 and strip.area >= 200
                if keep and village.buffer(-30).contains(strip):
                    number = len(rows) + 1
                    owner = rng.choice(SURNAMES) + rng.choice(GIVEN)
                    rows.append(
                        {
                            "code": f"{code}-{number:03d}",
                            "name": f"{name}茶园{number}号",
                            "owner": owner,
                            "cooperative": rng.choice(COOPERATIVES),
                            "crop": "茶",
                            "variety": rng.choice(VARIETIES),
                            "planting_year": rng.randint(1995, 2022),
                            "slope_deg": round(rng.uniform(8, 32), 1),
                            "note": LABEL,
                            "geometry": strip,
                        }
                    )
                angle += span + rng.uniform(0.03, 0.12)
            radius += width + rng.uniform(4, 9)
    return rows


def generate_demo(folder: Path, *, seed: int = 7) -> DemoFiles:
    """Write the demo county, townships, villages (GeoJSON) and plots (GeoPackage, EPSG:4546).

    Args:
        folder: where to write; created if missing.
        seed: random seed; the same seed gives byte-identical attribute values and shapes.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    village_size = 2_000.0
    townships, villages, plots = [], [], []
    for t_index, (t_code, t_name) in enumerate(TOWNSHIPS):
        tx0 = ORIGIN_E + t_index * 3 * village_size
        township_box = box(tx0, ORIGIN_N, tx0 + 3 * village_size, ORIGIN_N + village_size)
        townships.append(
            {
                "code": t_code,
                "name": t_name,
                "parent_code": "430923",
                "note": LABEL,
                "geometry": township_box,
            }
        )
        for v_index in range(3):
            v_code = f"{t_code}{201 + v_index:03d}"
            v_name = VILLAGE_NAMES[t_index * 3 + v_index]
            vx0 = tx0 + v_index * village_size
            village = box(vx0, ORIGIN_N, vx0 + village_size, ORIGIN_N + village_size)
            villages.append(
                {
                    "code": v_code,
                    "name": v_name,
                    "parent_code": t_code,
                    "note": LABEL,
                    "geometry": village,
                }
            )
            plots.extend(_plots_in(village, v_code, v_name, rng))
    county_shape = _wobbly_box(
        ORIGIN_E - 4_000, ORIGIN_N - 3_000, ORIGIN_E + 16_000, ORIGIN_N + 5_000, rng
    )
    county = [{"code": "430923", "name": "安化县", "note": LABEL, "geometry": county_shape}]

    def write(rows: list[dict[str, object]], name: str, driver: str) -> Path:
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK_CRS)
        path = folder / name
        path.unlink(missing_ok=True)
        if driver == "GeoJSON":
            frame = frame.to_crs("EPSG:4326")
        frame.to_file(path, driver=driver, engine="pyogrio")
        return path

    return DemoFiles(
        county=write(county, "county.geojson", "GeoJSON"),
        townships=write(townships, "townships.geojson", "GeoJSON"),
        villages=write(villages, "villages.geojson", "GeoJSON"),
        plots=write(plots, "plots_cgcs2000_gk111.gpkg", "GPKG"),
        plot_count=len(plots),
    )


CLIP_LABEL = (
    "演示地块，绘制在真实 Sentinel-2 影像（意大利阿尔卑斯山区）上"
    " / demo plots drawn over a real Sentinel-2 clip (Italian Alps), not Anhua"
)
#: Distance the clip plots keep from the clip's edges (metres).
CLIP_MARGIN_M = 20.0
CLIP_PLOTS_FILE = "clip_plots.geojson"


def generate_clip_plots(
    folder: Path,
    *,
    bounds_utm: tuple[float, float, float, float],
    crs: str = "EPSG:32632",
    seed: int = 7,
) -> Path:
    """Write a handful of small invented plots inside a real imagery clip (GeoJSON in ``crs``).

    The clip, less :data:`CLIP_MARGIN_M` on every side, is cut into a grid of two columns
    and up to five rows; each cell holds one quadrilateral of 0.1–0.4 ha (a rectangle with
    slightly moved corners) kept 6 m inside the cell, so plots never overlap. Codes are
    ``DEMO-S2-01`` …; every plot carries :data:`CLIP_LABEL` as its note. Deterministic for a
    seed.

    Args:
        folder: where to write; created if missing.
        bounds_utm: the clip's (xmin, ymin, xmax, ymax) in ``crs`` (metres).
        crs: the clip's projected CRS.
        seed: random seed of the shapes.
    """
    rng = random.Random(seed)
    xmin, ymin, xmax, ymax = bounds_utm
    inner = box(xmin, ymin, xmax, ymax).buffer(-CLIP_MARGIN_M, join_style="mitre")
    x0, y0, x1, y1 = inner.bounds
    columns = 2
    rows_n = max(1, min(5, int((y1 - y0) // 60)))
    cell_w, cell_h = (x1 - x0) / columns, (y1 - y0) / rows_n
    gap, jitter = 6.0, 3.0
    rows: list[dict[str, object]] = []
    for row in range(rows_n):
        for column in range(columns):
            cx0 = x0 + column * cell_w + gap
            cy0 = y0 + row * cell_h + gap
            room_w, room_h = cell_w - 2 * gap, cell_h - 2 * gap
            area = rng.uniform(1_200.0, 3_600.0)
            width = min(room_w - 2 * jitter, max(30.0, math.sqrt(area * 1.6)))
            height = min(room_h - 2 * jitter, area / width)
            px = cx0 + jitter + rng.uniform(0, room_w - 2 * jitter - width)
            py = cy0 + jitter + rng.uniform(0, room_h - 2 * jitter - height)
            corners = [(px, py), (px + width, py), (px + width, py + height), (px, py + height)]
            shape = Polygon(
                [
                    (round(x + rng.uniform(-jitter, jitter), 1),
                     round(y + rng.uniform(-jitter, jitter), 1))
                    for x, y in corners
                ]
            )  # fmt: skip
            number = len(rows) + 1
            rows.append(
                {
                    "code": f"DEMO-S2-{number:02d}",
                    "name": f"演示地块 S2-{number:02d}",
                    "note": CLIP_LABEL,
                    "geometry": shape,
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CLIP_PLOTS_FILE
    path.unlink(missing_ok=True)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    frame.to_file(
        path, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 2}
    )
    return path


def clip_extent(paths: list[Path]) -> tuple[tuple[float, float, float, float], str]:
    """Bounds shared by every scene in ``paths`` and their CRS (which must be projected).

    Raises:
        InvalidParameter: the scenes use different or geographic CRSs, or do not overlap.
    """
    boxes, crss = [], set()
    for scene in find_scenes(paths):
        raster = scene.boa or next(iter(scene.band_files.values()))
        with rasterio.open(raster) as ds:
            boxes.append(box(*ds.bounds))
            crss.add(ds.crs)
    crs = next(iter(crss))
    shared = boxes[0]
    for other in boxes[1:]:
        shared = shared.intersection(other)
    if len(crss) != 1 or not crs.is_projected or shared.is_empty:
        raise InvalidParameter(name="--imagery", reason=", ".join(str(p) for p in paths))
    xmin, ymin, xmax, ymax = shared.bounds
    return (xmin, ymin, xmax, ymax), crs.to_string()
