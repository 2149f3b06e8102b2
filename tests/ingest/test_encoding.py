"""GBK shapefiles without .cpg, encoding override, and 19-digit numeric codes."""

from __future__ import annotations

import pytest

from ingest.errors import InvalidEncoding, NumericCodeTooWide
from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from tests.ingest.builders import gbk_shapefile_zip, tea_plots
from tests.ingest.conftest import data_checksums, json_of, plot_rows


def test_gbk_shapefile_without_cpg_is_detected_and_reads_chinese(db, tmp_path, anhua):
    path = gbk_shapefile_zip(tmp_path)

    summary = import_plots(engine=db, path=path, service_area=anhua)

    assert summary.encoding == "GB18030"
    assert summary.encoding_origin == "detected"
    assert any(n.key == "import_note_encoding_detected" for n in summary.notes)
    rows = plot_rows(db)
    expected = tea_plots(3)
    assert sorted(rows) == sorted(expected["地块编码"])
    for _, feature in expected.iterrows():
        row = rows[feature["地块编码"]]
        assert row["name"] == feature["地块名称"]  # field 地块名称 itself was GBK too
        assert row["owner"] == feature["承包方"]
        assert row["variety"] == "安化云台山大叶种"


def test_gbk_shapefile_with_cpg_trusts_the_cpg(db, tmp_path, anhua):
    path = gbk_shapefile_zip(tmp_path, cpg=True)
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert (summary.encoding, summary.encoding_origin) == ("GBK", "cpg")
    assert {r["name"] for r in plot_rows(db).values()} == {"茶园1号", "茶园2号", "茶园3号"}


def test_encoding_option_overrides_detection(db, tmp_path, anhua):
    path = gbk_shapefile_zip(tmp_path)
    # Forcing Latin-1 gives the mojibake a naive reader shows: proves the option is used.
    options = PlotImportOptions(
        read=ReadOptions(encoding="ISO-8859-1"), mapping={"code": "µØ¿é±àÂë"}
    )
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert (summary.encoding, summary.encoding_origin) == ("ISO-8859-1", "override")
    assert "茶园1号" not in {r["name"] for r in plot_rows(db).values()}

    options = PlotImportOptions(read=ReadOptions(encoding="GBK"))
    summary = import_plots(engine=db, path=path, options=options, service_area=anhua)
    assert (summary.encoding, summary.encoding_origin) == ("GBK", "override")
    assert "茶园1号" in {r["name"] for r in plot_rows(db).values()}


def test_unknown_encoding_name_is_refused(db, tmp_path, anhua):
    path = gbk_shapefile_zip(tmp_path)
    with pytest.raises(InvalidEncoding, match="no-such-codec"):
        import_plots(
            engine=db,
            path=path,
            options=PlotImportOptions(read=ReadOptions(encoding="no-such-codec")),
            service_area=anhua,
        )


def test_nineteen_digit_numeric_code_field_is_refused(db, tmp_path, anhua):
    path = gbk_shapefile_zip(tmp_path, wide_code=True)
    before = data_checksums(db)
    with pytest.raises(NumericCodeTooWide) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    message = caught.value.message("en")
    assert "DKBM" in message and "19 digits" in message and "text" in message
    assert "DKBM" in caught.value.message("zh-CN")
    assert data_checksums(db) == before


def test_float_code_column_of_16_digits_is_refused_in_geojson(db, tmp_path, anhua):
    frame = tea_plots(1)
    frame["地块编码"] = [4309231000000001.0]
    path = tmp_path / "float.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(NumericCodeTooWide, match="地块编码"):
        import_plots(engine=db, path=path, service_area=anhua)


def test_integer_codes_are_stored_as_text_with_every_digit(db, tmp_path, anhua):
    frame = tea_plots(2)
    frame["地块编码"] = [4309231000000000001, 4309231000000000002]  # int64, exact
    path = tmp_path / "int.gpkg"
    frame.to_file(path, driver="GPKG")
    import_plots(engine=db, path=path, service_area=anhua)
    assert sorted(plot_rows(db)) == ["4309231000000000001", "4309231000000000002"]


def test_cli_reports_detected_encoding_in_json(cli, tmp_path):
    path = gbk_shapefile_zip(tmp_path)
    result = cli("--json", "plots", "import", str(path))
    assert result.exit_code == 0, result.output
    summary = json_of(result)
    assert summary["encoding"] == "GB18030"
    assert summary["encoding_origin"] == "detected"


def test_cli_refuses_wide_numeric_code_naming_the_field(cli, tmp_path):
    path = gbk_shapefile_zip(tmp_path, wide_code=True)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "DKBM" in result.stderr and "19" in result.stderr
