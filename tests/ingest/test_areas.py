"""Areas are measured on the ellipsoid: 亩 figures match pyproj.Geod, not Web Mercator."""

from __future__ import annotations

from decimal import Decimal

import pytest
import shapely
from pyproj import Geod
from sqlalchemy import text

from ingest.plots import import_plots
from models.units import area_mu
from tests.ingest.builders import gk_frame, tea_plots
from tests.ingest.conftest import plot_rows

GEOD = Geod(ellps="WGS84")


def geod_area_m2(wkt: str) -> float:
    area, _ = GEOD.geometry_area_perimeter(shapely.from_wkt(wkt))
    return abs(area)


def test_areas_in_mu_match_geod_to_a_hundredth(db, tmp_path, anhua):
    lonlat = tmp_path / "plots.geojson"
    tea_plots(3).to_file(lonlat, driver="GeoJSON")
    gk = tmp_path / "gk.geojson"
    gk_frame().set_crs(4546).to_file(gk, driver="GeoJSON")
    summaries = [import_plots(engine=db, path=p, service_area=anhua) for p in (lonlat, gk)]

    rows = plot_rows(db)
    assert len(rows) == 4
    for code, row in rows.items():
        ours, reference = area_mu(row["area_m2"]), area_mu(geod_area_m2(row["wkt"]))
        assert abs(ours - reference) <= Decimal("0.01"), (code, ours, reference)
    # The 100 m × 80 m Gauss–Krüger rectangle is 12 亩 (GK scale error here is ~4e-6).
    assert area_mu(rows["GK-1"]["area_m2"]) == Decimal("12.00")
    total = sum(row["area_m2"] for row in rows.values())
    assert sum(s.area_m2 for s in summaries) == pytest.approx(total)


def test_web_mercator_area_would_be_about_thirty_percent_too_big(db, tmp_path, anhua):
    path = tmp_path / "plots.geojson"
    tea_plots(1).to_file(path, driver="GeoJSON")
    import_plots(engine=db, path=path, service_area=anhua)
    with db.connect() as conn:
        planar, ellipsoid = conn.execute(
            text("SELECT ST_Area(ST_Transform(geom, 3857)), area_m2 FROM plots")
        ).one()
    ratio = planar / ellipsoid
    assert 1.25 < ratio < 1.35, ratio
