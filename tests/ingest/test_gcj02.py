"""GCJ-02 input is converted to WGS 84 on entry and never stored."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from coordTransform import gcj02_to_wgs84 as library_one_step
from coordTransform import wgs84_to_gcj02
from pyproj import Geod
from shapely.geometry import Polygon
from sqlalchemy import text

from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from ingest.vectors._gcj02 import gcj02_to_wgs84

GEOD = Geod(ellps="WGS84")
# Fixed WGS 84 reference corners of a plot in Anhua.
WGS84_CORNERS = [(111.2, 28.4), (111.201, 28.4), (111.201, 28.401), (111.2, 28.401)]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_inverse_round_trips_to_a_hundredth_of_a_millimetre():
    lon, lat = np.meshgrid(np.linspace(110.7, 112.0, 7), np.linspace(28.0, 28.7, 5))
    wgs = np.column_stack([lon.ravel(), lat.ravel()])
    gcj = np.array([wgs84_to_gcj02(x, y) for x, y in wgs])
    back = gcj02_to_wgs84(gcj)
    worst = max(metres(tuple(a), tuple(b)) for a, b in zip(wgs, back, strict=True))
    assert worst < 0.01
    # The library's own one-step inverse is off by about a metre here: why we iterate.
    one_step = library_one_step(*gcj[0])
    assert metres(tuple(wgs[0]), tuple(one_step)) > 0.1


def test_gcj02_flagged_import_stores_the_wgs84_reference(db, tmp_path, anhua):
    gcj_ring = [tuple(wgs84_to_gcj02(x, y)) for x, y in WGS84_CORNERS]
    assert metres(WGS84_CORNERS[0], gcj_ring[0]) > 300  # the offset is real (~650 m)
    path = tmp_path / "amap.geojson"
    gpd.GeoDataFrame({"code": ["GCJ-1"]}, geometry=[Polygon(gcj_ring)], crs=4326).to_file(path)

    summary = import_plots(
        engine=db,
        path=path,
        options=PlotImportOptions(read=ReadOptions(gcj02=True)),
        service_area=anhua,
    )

    assert any(n.key == "import_note_gcj02" for n in summary.notes)
    with db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_DumpPoints(geom)).geom AS g FROM plots) p"
            )
        ).all()
    for corner in WGS84_CORNERS:
        assert min(metres(corner, (x, y)) for x, y in stored) < 0.01


def test_without_flag_gcj02_coordinates_stay_offset(db, tmp_path, anhua):
    gcj_ring = [tuple(wgs84_to_gcj02(x, y)) for x, y in WGS84_CORNERS]
    path = tmp_path / "amap.geojson"
    gpd.GeoDataFrame({"code": ["GCJ-1"]}, geometry=[Polygon(gcj_ring)], crs=4326).to_file(path)
    import_plots(engine=db, path=path, service_area=anhua)
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_XMin(geom), ST_YMin(geom) FROM plots")).one()
    assert metres(WGS84_CORNERS[0], (x, y)) == pytest.approx(
        metres(WGS84_CORNERS[0], gcj_ring[0]), abs=50
    )
