"""Bad files fail with a message naming the feature and the problem, and write nothing.

Failed imports still leave a failed row in ``jobs`` (written in its own transaction), so the
"nothing changed" assertions compare the data tables (plots, admin_units) only.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon
from sqlalchemy import Engine, text

from ingest.errors import InvalidFeatures, MissingCrs, UnreadableFile
from ingest.plots import PlotImportOptions, import_plots
from ingest.vectors import ReadOptions
from tests.ingest.builders import bow_tie, gbk_shapefile_zip, lonlat_square, tea_plots
from tests.ingest.conftest import data_checksums


def _seed(engine: Engine, folder: Path, anhua) -> dict[str, str]:
    """One good plot already stored, so "unchanged" is not trivially true of empty tables."""
    path = folder / "seed.geojson"
    tea_plots(1, lon=111.5).assign(**{"地块编码": ["SEED"]}).to_file(path, driver="GeoJSON")
    import_plots(engine=engine, path=path, service_area=anhua)
    return data_checksums(engine)


def _frame(geoms: list[Polygon | None], codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=4326)


def _failed_jobs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT error FROM jobs WHERE state = 'failed' ORDER BY created_at"))
            .scalars()
            .all()
        )


@pytest.mark.parametrize(
    "content", [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, bytes(range(256))[::-1] * 8]
)
def test_non_vector_file_is_refused_by_the_cli(cli, db, tmp_path, anhua, content):
    before = _seed(db, tmp_path, anhua)
    path = tmp_path / "parcels.geojson"
    path.write_bytes(content)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "parcels.geojson" in result.stderr and "not a readable vector file" in result.stderr
    assert data_checksums(db) == before
    assert _failed_jobs(db)


def test_png_named_geoparquet_is_unreadable(db, tmp_path, anhua):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(UnreadableFile):
        import_plots(engine=db, path=path, service_area=anhua)


def test_bow_tie_is_rejected_naming_feature_code_and_reason(cli, db, tmp_path, anhua):
    before = _seed(db, tmp_path, anhua)
    path = tmp_path / "bowtie.gpkg"
    _frame([lonlat_square(111.2, 28.4), bow_tie()], ["OK-1", "BAD-2"]).to_file(path)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "feature #2 (code BAD-2)" in result.stderr
    assert "Self-intersection" in result.stderr
    assert "nothing was written" in result.stderr
    assert data_checksums(db) == before
    assert "BAD-2" in _failed_jobs(db)[-1]


def test_shapefile_without_prj_and_no_crs_option_fails(cli, db, tmp_path, anhua):
    before = _seed(db, tmp_path, anhua)
    path = gbk_shapefile_zip(tmp_path, prj=False)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "gbk_noprj.zip" in result.stderr and "--crs" in result.stderr
    assert data_checksums(db) == before
    with pytest.raises(MissingCrs):
        import_plots(engine=db, path=path, service_area=anhua)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_coordinates_are_rejected(cli, db, tmp_path, anhua):
    before = _seed(db, tmp_path, anhua)
    nan_ring = Polygon([(111.2, 28.4), (math.nan, 28.4), (111.201, 28.401), (111.2, 28.4)])
    path = tmp_path / "nan.gpkg"
    _frame([lonlat_square(111.2, 28.4), nan_ring], ["OK-1", "NAN-2"]).to_file(path)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "feature #2 (code NAN-2)" in result.stderr and "NaN" in result.stderr
    assert data_checksums(db) == before


def test_nan_coordinate_in_csv_names_the_line(db, tmp_path, anhua):
    path = tmp_path / "nan.csv"
    path.write_text(
        "code,point,X,Y\nC1,1,3143000,519600\nC1,2,3143000,nan\nC1,3,3143080,519700\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidFeatures) as caught:
        import_plots(
            engine=db,
            path=path,
            options=PlotImportOptions(read=ReadOptions(crs="EPSG:4546", xy_order="north-east")),
            service_area=anhua,
        )
    assert "line 3" in caught.value.message("en") and "C1" in caught.value.message("en")


def test_swapped_lat_lon_is_named_as_such(cli, db, tmp_path, anhua):
    before = _seed(db, tmp_path, anhua)
    swapped = Polygon([(28.4, 111.2), (28.4, 111.201), (28.401, 111.201), (28.4, 111.2)])
    path = tmp_path / "swapped.geojson"
    _frame([lonlat_square(111.2, 28.4), swapped], ["OK-1", "SWAP-2"]).to_file(path)
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1
    assert "feature #2 (code SWAP-2)" in result.stderr and "swapped" in result.stderr
    assert data_checksums(db) == before


def test_swapped_inside_lat_range_is_caught_by_the_service_area(db, tmp_path, anhua):
    # Swapped lon/lat of a point at (28.4 E, 11.2 N) would be (11.2, 28.4): not Anhua, so
    # the message says "outside the service area", not "swapped".
    far = lonlat_square(28.4, 11.2)
    path = tmp_path / "far.geojson"
    _frame([far], ["FAR-1"]).to_file(path)
    with pytest.raises(InvalidFeatures) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    assert caught.value.problems[0].key == "import_problem_outside_area"


def test_other_geometry_types_duplicates_and_missing_codes_are_all_reported(db, tmp_path, anhua):
    path = tmp_path / "mixed.geojson"
    frame = gpd.GeoDataFrame(
        {"code": ["A", "A", None, "L"]},
        geometry=[
            lonlat_square(111.2, 28.4),
            lonlat_square(111.21, 28.4),
            lonlat_square(111.22, 28.4),
            lonlat_square(111.23, 28.4).exterior,
        ],
        crs=4326,
    )
    frame.to_file(path)
    with pytest.raises(InvalidFeatures) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    keys = {(p.index, p.key) for p in caught.value.problems}
    assert keys == {
        (2, "import_problem_duplicate_code"),
        (3, "import_problem_no_code"),
        (4, "import_problem_geometry_type"),
    }


def test_problem_list_is_capped_and_counts_the_rest(db, tmp_path, anhua):
    path = tmp_path / "many.gpkg"
    ties = [bow_tie() for _ in range(60)]
    _frame(ties, [f"T{i}" for i in range(60)]).to_file(path)
    with pytest.raises(InvalidFeatures) as caught:
        import_plots(engine=db, path=path, service_area=anhua)
    message = caught.value.message("en")
    assert message.count("Self-intersection") == 50
    assert "10 more" in message
    assert "60 problem(s) in 60 feature(s)" in message


def test_unsupported_suffix_is_refused(cli, tmp_path):
    path = tmp_path / "plots.dxf"
    path.write_text("0\nEOF\n")
    result = cli("plots", "import", str(path))
    assert result.exit_code == 1 and "unsupported file type .dxf" in result.stderr


def test_missing_file_fails_with_json_error(cli, tmp_path):
    result = cli("--json", "plots", "import", str(tmp_path / "nope.geojson"))
    assert result.exit_code == 1
    assert '"error": "SourceMissing"' in result.stdout
