"""Vector tiles of plots: contents checked against an independent tile computation."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from models.auth.settings import AuthSettings
from models.settings import DatabaseSettings, Settings
from service.main import create_app
from tiles.vector import _sql, plots_tile

Z = 15


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile holding a point (the Web Mercator tiling formulas, not PostGIS)."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of a tile in degrees."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


PLOTS = {
    # code: (west, south, side in degrees, retired)
    "IN-1": (111.2003, 28.3803, 0.0004, False),
    "IN-2": (111.2010, 28.3810, 0.0003, False),
    "OLD": (111.2015, 28.3815, 0.0002, True),
    "FAR": (111.3000, 28.4500, 0.0004, False),
}


@pytest.fixture()
def plots_with_values(db):
    with db.begin() as conn:
        for code, (west, south, side, retired) in PLOTS.items():
            conn.execute(
                text(
                    "INSERT INTO plots (code, name, geom, area_m2, retired_at) VALUES (:c, :n,"
                    " ST_Multi(ST_MakeEnvelope(:w, :s, :e, :nn, 4326)),"
                    " ST_Area(ST_MakeEnvelope(:w, :s, :e, :nn, 4326)::geography),"
                    " CASE WHEN :r THEN now() END)"
                ),
                {
                    "c": code,
                    "n": f"茶园 {code}",
                    "w": west,
                    "s": south,
                    "e": west + side,
                    "nn": south + side,
                    "r": retired,
                },
            )
        scene = conn.execute(
            text(
                "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                " ('local', 'S2-TEST', '2024-05-01T03:10:00Z',"
                " ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326))) RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO plot_latest (plot_id, index, acquired_at, source, scene_id, mean)"
                " SELECT id, 'NDVI', '2024-04-30T17:10:00Z', 'local', :s, 0.61234"
                " FROM plots WHERE code = 'IN-1'"
            ),
            {"s": scene},
        )
    return db


def test_tile_holds_the_current_plots_that_intersect_it(plots_with_values):
    x, y = tile_of(111.2005, 28.3805, Z)
    west, south, east, north = tile_bounds(Z, x, y)
    tile_box = box(west, south, east, north)
    expected = {
        code
        for code, (w, s, side, retired) in PLOTS.items()
        if not retired and box(w, s, w + side, s + side).intersects(tile_box)
    }
    assert expected == {"IN-1", "IN-2"}
    with Session(plots_with_values) as session:
        data = plots_tile(session=session, z=Z, x=x, y=y, max_zoom=22, timezone="Asia/Shanghai")
    layer = mapbox_vector_tile.decode(data)["plots"]
    found = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert set(found) == expected
    first = found["IN-1"]
    assert first["ndvi"] == pytest.approx(0.6123)
    # 17:10 UTC on 30 April is 1 May in Asia/Shanghai.
    assert first["ndvi_date"] == "2024-05-01"
    assert "ndvi" not in found["IN-2"]
    with plots_with_values.connect() as conn:
        area = conn.execute(text("SELECT area_m2 FROM plots WHERE code = 'IN-1'")).scalar_one()
    mu = (Decimal(str(area)) * 15 / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(str(first["area_mu"])) == mu


def add_scene_stats(engine) -> int:
    """A second scene (4 June, UTC 03:00) with IN-1 clear and IN-2 flagged; its id."""
    with engine.begin() as conn:
        scene = conn.execute(
            text(
                "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                " ('local', 'S2-JUNE', '2024-06-04T03:00:00Z',"
                " ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326))) RETURNING id"
            )
        ).scalar_one()
        for code, mean, flagged, reason in [
            ("IN-1", 0.71, False, None),
            ("IN-2", 0.33, True, "low_clear_fraction"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id,"
                    " mean, valid_weight, valid_count, total_weight, clear_fraction,"
                    " masked_shares, flagged, flag_reason)"
                    " SELECT id, 'NDVI', '2024-06-04T03:00:00Z', 'local', :s, :m, 10, 10, 10,"
                    " CASE WHEN :f THEN 0.2 ELSE 1 END, '{}', :f, :r FROM plots WHERE code = :c"
                ),
                {"s": scene, "m": mean, "f": flagged, "r": reason, "c": code},
            )
    return int(scene)


def test_a_scene_tile_carries_that_dates_values_and_flags(plots_with_values):
    scene = add_scene_stats(plots_with_values)
    x, y = tile_of(111.2005, 28.3805, Z)
    with Session(plots_with_values) as session:
        args = {"session": session, "z": Z, "x": x, "y": y, "max_zoom": 22, "timezone": "UTC"}
        chosen = mapbox_vector_tile.decode(plots_tile(**args, scene_id=scene))["plots"]
        latest = mapbox_vector_tile.decode(plots_tile(**args))["plots"]
    found = {f["properties"]["code"]: f["properties"] for f in chosen["features"]}
    assert found["IN-1"]["ndvi"] == pytest.approx(0.71)
    assert found["IN-1"]["ndvi_date"] == "2024-06-04"
    assert "ndvi_flag" not in found["IN-1"]
    assert "ndvi" not in found["IN-2"]
    assert found["IN-2"]["ndvi_flag"] == "low_clear_fraction"
    # Without a scene: still plot_latest (the May value), and no flags.
    plain = {f["properties"]["code"]: f["properties"] for f in latest["features"]}
    assert plain["IN-1"]["ndvi"] == pytest.approx(0.6123)
    assert not any(k.endswith("_flag") for p in plain.values() for k in p)


def test_the_envelope_filter_uses_the_spatial_index(db):
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) SELECT 'G' || i,"
                " ST_Multi(ST_MakeEnvelope(111 + (i % 100) * 0.001, 28 + (i / 100) * 0.001,"
                " 111.0005 + (i % 100) * 0.001, 28.0005 + (i / 100) * 0.001, 4326)), 1000"
                " FROM generate_series(0, 4999) i"
            )
        )
        conn.execute(text("ANALYZE plots"))
    x, y = tile_of(111.01, 28.01, 17)
    params = {
        "z": 17,
        "x": x,
        "y": y,
        "extent": 4096,
        "buffer": 64,
        "margin": 64 / 4096,
        "timezone": "UTC",
        "scene_id": None,
        "units": None,
    }
    with db.connect() as conn:
        plan = "\n".join(conn.execute(text("EXPLAIN " + _sql("plots_mvt")), params).scalars())
        assert "idx_plots_geom" in plan
        # One scene's values, and a scoped caller's units: still the spatial index.
        params.update(scene_id=1, units=[1, 2, 3])
        plan = "\n".join(conn.execute(text("EXPLAIN " + _sql("plots_mvt")), params).scalars())
        assert "idx_plots_geom" in plan


@pytest.fixture()
def client(plots_with_values, database_url):
    settings = Settings(
        db=DatabaseSettings(database_url=database_url), auth=AuthSettings(anonymous_read=True)
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_tile_route_serves_mvt_and_refuses_addresses_outside_the_matrix(client):
    x, y = tile_of(111.2005, 28.3805, Z)
    response = client.get(f"/tiles/plots/{Z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert len(mapbox_vector_tile.decode(response.content)["plots"]["features"]) == 2
    for url, name in [
        ("/tiles/plots/23/0/0.mvt", "z"),
        ("/tiles/plots/3/8/0.mvt", "x"),
        ("/tiles/plots/3/0/8.mvt", "y"),
        ("/tiles/plots/1/-1/0.mvt", "x"),
        ("/tiles/plots/-1/0/0.mvt", "z"),
        ("/tiles/plots/40/0/0.mvt?lang=en", "z"),
    ]:
        bad = client.get(url)
        assert 400 <= bad.status_code < 500, url
        assert name in bad.json()["detail"], url
    assert client.get("/tiles/plots/a/0/0.mvt").status_code == 422
    assert client.get("/healthz").status_code == 200


def test_scene_tiles_refuse_an_unknown_scene_at_every_zoom(client, plots_with_values):
    scene = add_scene_stats(plots_with_values)
    x, y = tile_of(111.2005, 28.3805, Z)
    ok = client.get(f"/tiles/plots/{Z}/{x}/{y}.mvt", params={"scene_id": scene})
    assert ok.status_code == 200
    assert len(mapbox_vector_tile.decode(ok.content)["plots"]["features"]) == 2
    for url in [f"/tiles/plots/{Z}/{x}/{y}.mvt", "/tiles/plots/5/26/13.mvt"]:
        missing = client.get(url, params={"scene_id": scene + 100, "lang": "en"})
        assert missing.status_code == 404
        assert str(scene + 100) in missing.json()["detail"]
    for bad in ["0", "-3", "x", "9" * 30]:
        response = client.get(f"/tiles/plots/{Z}/{x}/{y}.mvt", params={"scene_id": bad})
        assert response.status_code == 422, bad
    assert client.get("/healthz").status_code == 200


def test_tiles_above_the_minimum_zoom_are_empty_but_valid(client):
    response = client.get("/tiles/plots/5/26/13.mvt")
    assert response.status_code == 200
    assert response.content == b""


def test_tilejson_points_at_the_tiles_and_covers_the_plots(client):
    doc = client.get("/tiles/plots.json").json()
    assert doc["tiles"][0].endswith("/tiles/plots/{z}/{x}/{y}.mvt")
    west, south, east, north = doc["bounds"]
    assert west == pytest.approx(111.2003) and north == pytest.approx(28.4504)
    assert doc["vector_layers"][0]["id"] == "plots"
