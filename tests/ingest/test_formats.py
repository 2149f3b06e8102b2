"""Every supported format imports: GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ, GeoParquet."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from tests.ingest.builders import tea_plots, write_zip
from tests.ingest.conftest import json_of, plot_rows


def _write(frame: gpd.GeoDataFrame, folder: Path, kind: str) -> Path:
    if kind == "geojson":
        path = folder / "plots.geojson"
        frame.to_file(path, driver="GeoJSON")
    elif kind == "gpkg":
        path = folder / "plots.gpkg"
        frame.to_file(path, driver="GPKG", layer="tea")
    elif kind == "kml":
        path = folder / "plots.kml"
        frame.to_file(path, driver="KML")
    elif kind == "kmz":
        path = folder / "plots.kmz"
        frame.to_file(path, driver="LIBKML")
    elif kind == "parquet":
        path = folder / "plots.parquet"
        frame.to_parquet(path)
    elif kind == "shpzip":
        # DBF field names hold 10 bytes: pinyin initials, as surveyors' files have them.
        short = {
            "地块编码": "DKBM",
            "地块名称": "DKMC",
            "承包方": "CBFMC",
            "品种": "PZ",
            "种植年份": "ZZNF",
            "海拔": "HB",
        }
        shp = folder / "shp" / "plots.shp"
        shp.parent.mkdir()
        frame.rename(columns=short).to_file(shp, driver="ESRI Shapefile", encoding="UTF-8")
        path = write_zip(shp, folder / "plots.zip")
    else:
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize("kind", ["geojson", "gpkg", "kml", "kmz", "parquet", "shpzip"])
def test_each_format_imports_names_and_geometry(db, tmp_path, anhua, kind):
    frame = tea_plots(3)
    path = _write(frame, tmp_path, kind)

    summary = import_plots(engine=db, path=path, service_area=anhua)

    assert summary.inserted == 3 and summary.updated == 0
    rows = plot_rows(db)
    assert sorted(rows) == sorted(frame["地块编码"])
    for _, feature in frame.iterrows():
        row = rows[feature["地块编码"]]
        assert row["name"] == feature["地块名称"]
        assert row["owner"] == feature["承包方"]
        assert row["variety"] == feature["品种"]
        assert row["planting_year"] == feature["种植年份"]
        stored = shapely.from_wkt(row["wkt"])
        assert stored.geom_type == "MultiPolygon"
        assert stored.symmetric_difference(feature.geometry).area < 1e-14
        assert row["source"] == path.name
        # Unmapped attributes are kept, JSON-safe.
        altitude = row["attributes"].get("海拔", row["attributes"].get("HB"))
        assert altitude == pytest.approx(feature["海拔"])
    assert summary.source_crs == "EPSG:4326"


def test_kml_z_coordinates_are_dropped(db, tmp_path, anhua):
    path = _write(tea_plots(1), tmp_path, "kmz")  # LIBKML writes POLYGON Z
    import_plots(engine=db, path=path, service_area=anhua)
    with db.connect() as conn:
        dims = conn.execute(text("SELECT ST_NDims(geom) FROM plots")).scalar_one()
    assert dims == 2


def test_gpkg_layer_is_chosen_with_layer_option(db, tmp_path, anhua):
    path = tmp_path / "two.gpkg"
    tea_plots(2).to_file(path, layer="a", driver="GPKG")
    tea_plots(3, lon=111.3).assign(**{"地块编码": ["X1", "X2", "X3"]}).to_file(
        path, layer="b", driver="GPKG"
    )
    options = PlotImportOptions(read=ReadOptions(layer="b"))
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert summary.layer == "b"
    assert sorted(plot_rows(db)) == ["X1", "X2", "X3"]


def test_cli_imports_geojson_and_prints_json_summary(cli, tmp_path):
    path = _write(tea_plots(2), tmp_path, "geojson")
    result = cli("--json", "plots", "import", str(path))
    assert result.exit_code == 0, result.output
    summary = json_of(result)
    assert summary["counts"] == {
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "retired": 0,
        "unretired": 0,
    }
    assert summary["source_crs"] == "EPSG:4326"
    assert summary["job_id"]


def test_cli_prints_a_table_for_people(cli, tmp_path):
    path = _write(tea_plots(2), tmp_path, "gpkg")
    result = cli("--lang", "zh-CN", "plots", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "地块导入" in result.stdout
    assert "亩" in result.stdout and "公顷" in result.stdout
