"""Tiny vector fixtures written on demand into a test's tmp_path.

Coordinates are near Anhua (about 111.2°E, 28.4°N). Gauss–Krüger control points are round
numbers in EPSG:4546 (CGCS2000, CM 111°E, no zone prefix): their longitude/latitude is
computed by PostGIS in the tests, never here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
from shapely.geometry import MultiPolygon, Polygon, box

# A 100 m × 80 m rectangle south-west corner (easting, northing) in EPSG:4546.
GK_E0, GK_N0 = 519_600.0, 3_143_000.0
GK_CORNERS = [
    (GK_E0, GK_N0),
    (GK_E0 + 100.0, GK_N0),
    (GK_E0 + 100.0, GK_N0 + 80.0),
    (GK_E0, GK_N0 + 80.0),
]
ZONE37 = 37_000_000.0


def lonlat_square(lon: float, lat: float, size_deg: float = 0.001) -> Polygon:
    """An axis-aligned square in degrees (about 100 m × 110 m near Anhua for 0.001°)."""
    return box(lon, lat, lon + size_deg, lat + size_deg)


def tea_plots(n: int = 3, lon: float = 111.20, lat: float = 28.40) -> gpd.GeoDataFrame:
    """``n`` small plots with Chinese attribute names (DKBM as text), EPSG:4326."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "地块编码": f"430923{i:013d}",
                "地块名称": f"茶园{i + 1}号",
                "承包方": ["张三", "李四", "王五"][i % 3],
                "品种": "安化云台山大叶种",
                "种植年份": 2010 + i,
                "海拔": 300.5 + i,
                "geometry": lonlat_square(lon + i * 0.002, lat),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def gk_frame(prefixed: bool = False) -> gpd.GeoDataFrame:
    """One plot whose corners are the control points, in GK coordinates (EPSG:4546 values)."""
    shift = ZONE37 if prefixed else 0.0
    ring = [(e + shift, n) for e, n in GK_CORNERS]
    return gpd.GeoDataFrame({"code": ["GK-1"]}, geometry=[Polygon(ring)], crs=None)


def write_zip(shp: Path, target: Path, *, drop: tuple[str, ...] = ()) -> Path:
    """Zip the parts of shapefile ``shp`` (leaving out suffixes in ``drop``) into ``target``."""
    with zipfile.ZipFile(target, "w") as archive:
        for part in sorted(shp.parent.glob(shp.stem + ".*")):
            if part.suffix.lower() not in drop:
                archive.write(part, part.name)
    return target


def gbk_shapefile_zip(
    folder: Path, *, wide_code: bool = False, cpg: bool = False, prj: bool = True
) -> Path:
    """A zipped GBK shapefile of three plots with Chinese field names and values.

    With ``wide_code`` the code field DKBM is numeric with 19 digits (it reads as float64).
    Without ``cpg`` the ``.cpg`` is removed, as surveyors' files usually come; without
    ``prj`` the ``.prj`` too.
    """
    frame = tea_plots(3)
    if wide_code:
        frame["DKBM"] = [4309231000000000001 + i for i in range(3)]
        frame = frame.drop(columns=["地块编码"])
    shp = folder / "gbk" / "地块.shp"
    shp.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(shp, driver="ESRI Shapefile", encoding="GBK")
    drop = (() if cpg else (".cpg",)) + (() if prj else (".prj",))
    name = "gbk" + ("_cpg" if cpg else "") + ("" if prj else "_noprj")
    return write_zip(shp, folder / f"{name}.zip", drop=drop)


def bow_tie() -> Polygon:
    """A self-intersecting polygon (figure of eight) near Anhua."""
    return Polygon([(111.20, 28.40), (111.201, 28.401), (111.201, 28.40), (111.20, 28.401)])


def village_polygons() -> gpd.GeoDataFrame:
    """Two villages side by side (west: 云台村, east: 马路村) in one township, EPSG:4326."""
    return gpd.GeoDataFrame(
        {
            "code": ["430923101201", "430923101202"],
            "name": ["云台村", "马路村"],
            "parent": ["430923101", "430923101"],
        },
        geometry=[
            MultiPolygon([box(111.10, 28.30, 111.25, 28.50)]),
            MultiPolygon([box(111.25, 28.30, 111.40, 28.50)]),
        ],
        crs=4326,
    )
