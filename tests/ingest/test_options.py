"""Command options: --retire-missing, --map/--mapping, --no-area-check, --dry-run, CSV WKT."""

from __future__ import annotations

import geopandas as gpd
import pytest
from sqlalchemy import text

from ingest.errors import InvalidMapping, MappedFieldMissing
from ingest.mapping import load_mapping
from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from tests.ingest.builders import lonlat_square, tea_plots
from tests.ingest.conftest import data_checksums, json_of, plot_rows


def _retired(engine) -> dict[str, bool]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, retired_at IS NOT NULL FROM plots")).all())


def test_retire_missing_marks_absent_plots_and_reappearing_ones_come_back(cli, db, tmp_path):
    # Same file name in both folders: ``source`` (the file name) stays the same.
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    full, part = tmp_path / "a" / "plots.geojson", tmp_path / "b" / "plots.geojson"
    frame = tea_plots(3)
    frame.to_file(full)
    frame.iloc[:2].to_file(part)
    codes = list(frame["地块编码"])
    assert cli("plots", "import", str(full)).exit_code == 0

    result = cli("--json", "plots", "import", str(part), "--retire-missing")
    assert result.exit_code == 0, result.output
    assert json_of(result)["counts"]["retired"] == 1
    assert _retired(db) == {codes[0]: False, codes[1]: False, codes[2]: True}
    assert len(plot_rows(db)) == 3  # retired, never deleted

    result = cli("--json", "plots", "import", str(full))
    counts = json_of(result)["counts"]
    assert (counts["updated"], counts["unretired"], counts["unchanged"]) == (1, 1, 2)
    assert not any(_retired(db).values())


def test_without_retire_missing_absent_plots_stay_active(db, tmp_path, anhua):
    full, part = tmp_path / "full.geojson", tmp_path / "part.geojson"
    tea_plots(3).to_file(full)
    tea_plots(1).to_file(part)
    import_plots(engine=db, path=full, service_area=anhua)
    summary = import_plots(engine=db, path=part, service_area=anhua)
    assert summary.retired == 0 and not any(_retired(db).values())


def test_map_options_and_mapping_file(cli, db, tmp_path):
    path = tmp_path / "odd.geojson"
    gpd.GeoDataFrame(
        {"PLOT_NO": ["P-1"], "HOLDER": ["刘七"], "COOP": ["云台山茶叶合作社"], "YEAR": ["2016"]},
        geometry=[lonlat_square(111.2, 28.4)],
        crs=4326,
    ).to_file(path)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[fields]\nowner = "HOLDER"\ncooperative = "COOP"\n', encoding="utf-8")
    result = cli(
        "plots",
        "import",
        str(path),
        "--map",
        "code=PLOT_NO",
        "--map",
        "planting_year=YEAR",
        "--mapping",
        str(mapping),
    )
    assert result.exit_code == 0, result.output
    row = plot_rows(db)["P-1"]
    assert (row["owner"], row["cooperative"], row["planting_year"]) == (
        "刘七",
        "云台山茶叶合作社",
        2016,
    )
    assert row["attributes"] == {}


def test_mapping_errors_are_clear(db, tmp_path, anhua):
    with pytest.raises(InvalidMapping, match="colour"):
        load_mapping(["colour=FARBE"], fields=("code", "name"))
    with pytest.raises(InvalidMapping, match="ours=theirs"):
        load_mapping(["code"], fields=("code",))
    path = tmp_path / "p.geojson"
    tea_plots(1).to_file(path)
    with pytest.raises(MappedFieldMissing, match="NOPE"):
        import_plots(
            engine=db,
            path=path,
            options=PlotImportOptions(mapping={"code": "NOPE"}),
            service_area=anhua,
        )


def test_bad_planting_year_names_the_field(db, tmp_path, anhua):
    path = tmp_path / "p.geojson"
    tea_plots(1).assign(**{"种植年份": ["去年"]}).to_file(path)
    with pytest.raises(Exception) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    assert "种植年份" in caught.value.message("en") and "去年" in caught.value.message("en")


def test_no_area_check_accepts_plots_elsewhere(cli, db, tmp_path):
    path = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"code": ["FAR"]}, geometry=[lonlat_square(10.0, 50.0)], crs=4326).to_file(
        path
    )
    refused = cli("plots", "import", str(path))
    assert refused.exit_code == 1 and "outside the service area" in refused.stderr
    accepted = cli("plots", "import", str(path), "--no-area-check")
    assert accepted.exit_code == 0, accepted.output
    assert list(plot_rows(db)) == ["FAR"]


def test_service_area_setting_none_turns_the_check_off(cli, db, tmp_path):
    path = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"code": ["FAR"]}, geometry=[lonlat_square(10.0, 50.0)], crs=4326).to_file(
        path
    )
    assert cli("plots", "import", str(path), service_area="none").exit_code == 0


def test_cli_dry_run_writes_nothing(cli, db, tmp_path):
    path = tmp_path / "p.geojson"
    tea_plots(2).to_file(path)
    before = data_checksums(db)
    result = cli("--json", "plots", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert json_of(result)["dry_run"] is True and json_of(result)["counts"]["inserted"] == 2
    assert data_checksums(db) == before


def test_csv_with_wkt_column_in_gk_crs(db, tmp_path, anhua):
    path = tmp_path / "wkt.csv"
    path.write_text(
        "地块编码,地块名称,wkt\n"
        '0001,茶园甲,"POLYGON((519600 3143000,519700 3143000,519700 3143080,519600 3143080,'
        '519600 3143000))"\n',
        encoding="gb18030",
    )
    summary = import_plots(
        engine=db,
        path=path,
        options=PlotImportOptions(read=ReadOptions(crs="EPSG:4546")),
        service_area=anhua,
    )
    assert summary.encoding == "GB18030" and summary.source_crs == "EPSG:4546"
    row = plot_rows(db)["0001"]  # leading zeros kept: codes are text
    assert row["name"] == "茶园甲"
    assert row["area_m2"] == pytest.approx(8000, rel=1e-4)


def test_csv_rings_with_a_hole(db, tmp_path, anhua):
    lines = ["code,ring,point,northing,easting"]
    outer = [(519600, 3143000), (519700, 3143000), (519700, 3143100), (519600, 3143100)]
    inner = [(519640, 3143040), (519660, 3143040), (519660, 3143060), (519640, 3143060)]
    for ring, points in ((1, outer), (2, inner)):
        lines += [f"H1,{ring},{i},{n},{e}" for i, (e, n) in enumerate(points)]
    path = tmp_path / "hole.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_plots(
        engine=db,
        path=path,
        options=PlotImportOptions(read=ReadOptions(crs="EPSG:4546")),
        service_area=anhua,
    )
    assert plot_rows(db)["H1"]["area_m2"] == pytest.approx(10000 - 400, rel=1e-4)
