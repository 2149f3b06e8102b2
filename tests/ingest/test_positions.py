"""Control points in Gauss–Krüger coordinates land where PostGIS puts them (< 0.01 m).

The independent side is PostGIS ``ST_Transform`` (the server's own PROJ) applied to the raw
projected coordinates, never pyproj, which the import path itself uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, text

from ingest.errors import AxesSwapped, ZonePrefixMismatch
from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from tests.ingest.builders import GK_CORNERS, ZONE37, gk_frame, write_zip

TOLERANCE_M = 0.01

_WORST_ERROR = """
SELECT max(d) FROM (
  SELECT min(ST_Distance(
           ST_Transform(ST_SetSRID(ST_MakePoint(c.e, c.n), :srid), 4326)::geography,
           dp.geom::geography)) AS d
  FROM unnest(CAST(:es AS float8[]), CAST(:ns AS float8[])) AS c(e, n)
  CROSS JOIN LATERAL (
      SELECT (ST_DumpPoints(p.geom)).geom FROM plots p WHERE p.code = :code) dp
  GROUP BY c.e, c.n) per_point
"""


def worst_error_m(
    engine: Engine, code: str, srid: int, points: list[tuple[float, float]], record=None
) -> float:
    """Largest distance (m, ellipsoid) from a control point's PostGIS position to the plot."""
    with engine.connect() as conn:
        value = conn.execute(
            text(_WORST_ERROR),
            {
                "srid": srid,
                "es": [e for e, _ in points],
                "ns": [n for _, n in points],
                "code": code,
            },
        ).scalar_one()
    assert value is not None
    if record is not None:
        record(f"worst_position_error_m_epsg{srid}", float(value))
    return float(value)


def prefixed(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(e + ZONE37, n) for e, n in points]


def test_epsg4546_geojson_lands_on_postgis_positions(db, tmp_path, anhua, record_property):
    path = tmp_path / "gk.geojson"
    gk_frame().set_crs(4546).to_file(path, driver="GeoJSON")
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert summary.source_crs == "EPSG:4546"
    error = worst_error_m(db, "GK-1", 4546, GK_CORNERS, record_property)
    assert error < TOLERANCE_M, f"worst position error {error:.6f} m"
    # The measure can fail: control points moved 2 cm east are seen as 2 cm off.
    moved = [(e + 0.02, n) for e, n in GK_CORNERS]
    assert worst_error_m(db, "GK-1", 4546, moved) == pytest.approx(0.02, abs=0.001)
    with db.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_XMin(geom), ST_YMin(geom) FROM plots WHERE code = 'GK-1'")
        ).one()
    assert lon == pytest.approx(111.2, abs=0.01) and lat == pytest.approx(28.4, abs=0.01)


def test_epsg4525_with_zone_prefix_lands_on_postgis_positions(db, tmp_path, anhua, record_property):
    path = tmp_path / "gk37.gpkg"
    gk_frame(prefixed=True).set_crs(4525).to_file(path, driver="GPKG")
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert summary.source_crs == "EPSG:4525"
    assert worst_error_m(db, "GK-1", 4525, prefixed(GK_CORNERS), record_property) < TOLERANCE_M
    # The same ground point, computed by PostGIS from the unprefixed CRS.
    assert worst_error_m(db, "GK-1", 4546, GK_CORNERS, record_property) < TOLERANCE_M


def test_prefixed_eastings_declared_4546_switch_to_4525_with_a_note(
    db, tmp_path, anhua, record_property
):
    path = tmp_path / "declared4546.gpkg"
    gk_frame(prefixed=True).set_crs(4546).to_file(path, driver="GPKG")
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert summary.source_crs == "EPSG:4525"
    note = next(n for n in summary.notes if n.key == "import_note_zone_prefix")
    assert note.params == {"declared": "EPSG:4546", "used": "EPSG:4525", "zone": 37}
    assert worst_error_m(db, "GK-1", 4546, GK_CORNERS, record_property) < TOLERANCE_M


def test_zone_prefix_contradicting_the_central_meridian_is_refused(
    db, tmp_path, anhua, record_property
):
    frame = gk_frame()
    frame = frame.set_geometry(frame.translate(xoff=38_000_000.0)).set_crs(4546)
    path = tmp_path / "zone38.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(ZonePrefixMismatch) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    assert "38" in caught.value.message("en") and "111" in caught.value.message("en")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_prj_takes_crs_option(db, tmp_path, anhua, record_property):
    shp = tmp_path / "noprj" / "gk.shp"
    shp.parent.mkdir()
    gk_frame().to_file(shp, driver="ESRI Shapefile")
    assert not shp.with_suffix(".prj").exists()
    path = write_zip(shp, tmp_path / "noprj.zip")
    options = PlotImportOptions(read=ReadOptions(crs="EPSG:4546"))
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert summary.source_crs == "EPSG:4546"
    assert worst_error_m(db, "GK-1", 4546, GK_CORNERS, record_property) < TOLERANCE_M


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _xy_rows(points: list[tuple[float, float]], code: str = "CSV-1") -> list[str]:
    # Northing first, as Chinese surveying lists them.
    return [f"{code},{i + 1},{n:.3f},{e:.3f}" for i, (e, n) in enumerate(points)]


def test_northing_first_csv_is_detected_and_lands_on_postgis_positions(
    db, tmp_path, anhua, record_property
):
    path = _csv(tmp_path / "jzd.csv", "code,point,X,Y", _xy_rows(GK_CORNERS))
    options = PlotImportOptions(read=ReadOptions(crs="EPSG:4546"))
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert any(
        n.key == "import_note_xy_order_detected" and n.params["order"] == "north-east"
        for n in summary.notes
    )
    error = worst_error_m(db, "CSV-1", 4546, GK_CORNERS, record_property)
    assert error < TOLERANCE_M, f"worst position error {error:.6f} m"


def test_chinese_column_names_and_zone_prefix_in_csv(db, tmp_path, anhua, record_property):
    rows = [f"CSV-2,{i + 1},{n:.3f},{e:.3f}" for i, (e, n) in enumerate(prefixed(GK_CORNERS))]
    path = _csv(tmp_path / "界址点.csv", "地块编码,点号,纵坐标,横坐标", rows)
    options = PlotImportOptions(read=ReadOptions(crs="EPSG:4546"))
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert summary.source_crs == "EPSG:4525"
    assert worst_error_m(db, "CSV-2", 4525, prefixed(GK_CORNERS), record_property) < TOLERANCE_M


def test_xy_order_option_decides_for_east_first_csv(db, tmp_path, anhua, record_property):
    rows = [f"CSV-3,{i + 1},{e:.3f},{n:.3f}" for i, (e, n) in enumerate(GK_CORNERS)]
    path = _csv(tmp_path / "en.csv", "code,point,X,Y", rows)
    options = PlotImportOptions(read=ReadOptions(crs="EPSG:4546", xy_order="east-north"))
    import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert worst_error_m(db, "CSV-3", 4546, GK_CORNERS, record_property) < TOLERANCE_M


def test_northing_first_file_in_gk_crs_is_refused_as_swapped(db, tmp_path, anhua, record_property):
    frame = gk_frame()
    frame = frame.set_geometry(frame.geometry.map(_swap)).set_crs(4546)
    path = tmp_path / "swapped.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(AxesSwapped):
        import_plots(engine=db, path=path, service_area=anhua)


def _swap(geom):
    return shapely.transform(geom, lambda xy: xy[:, ::-1])
