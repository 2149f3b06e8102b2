"""Admin units with parents, and plots placed in villages by location or by attribute."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Engine, text

from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.errors import InvalidFeatures, LevelMissing
from ingest.plots import import_plots
from tests.ingest.builders import lonlat_square, tea_plots, village_polygons
from tests.ingest.conftest import json_of, plot_rows


def units(engine: Engine) -> dict[str, tuple[str, str, str | None]]:
    """code → (name, level, parent code)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.code, u.name, u.level, p.code AS parent FROM admin_units u"
                " LEFT JOIN admin_units p ON p.id = u.parent_id"
            )
        ).all()
    return {r.code: (r.name, r.level, r.parent) for r in rows}


def _township_and_county(folder) -> tuple:
    county = folder / "county.geojson"
    gpd.GeoDataFrame(
        {"XZQDM": ["430923"], "XZQMC": ["安化县"]},
        geometry=[MultiPolygon([box(110.7, 28.0, 112.0, 28.7)])],
        crs=4326,
    ).to_file(county)
    township = folder / "township.geojson"
    gpd.GeoDataFrame(
        {"XZQDM": ["430923101"], "XZQMC": ["江南镇"]},
        geometry=[MultiPolygon([box(111.0, 28.2, 111.5, 28.6)])],
        crs=4326,
    ).to_file(township)
    return county, township


def test_parents_by_location_and_by_code_field(db, tmp_path, anhua):
    county, township = _township_and_county(tmp_path)
    import_admin_units(
        engine=db, path=county, options=AdminImportOptions(level="county"), service_area=anhua
    )
    by_location = import_admin_units(
        engine=db, path=township, options=AdminImportOptions(level="township"), service_area=anhua
    )
    villages = tmp_path / "villages.gpkg"
    village_polygons().to_file(villages)
    by_code = import_admin_units(
        engine=db,
        path=villages,
        options=AdminImportOptions(level="village", parent_code_field="parent"),
        service_area=anhua,
    )
    assert by_location.parents == {"by_attribute": 0, "by_location": 1, "without_parent": 0}
    assert by_code.parents == {"by_attribute": 2, "by_location": 0, "without_parent": 0}
    assert units(db) == {
        "430923": ("安化县", "county", None),
        "430923101": ("江南镇", "township", "430923"),
        "430923101201": ("云台村", "village", "430923101"),
        "430923101202": ("马路村", "village", "430923101"),
    }


def test_levels_from_a_field_in_one_file_parent_by_location(db, tmp_path, anhua):
    path = tmp_path / "all.geojson"
    gpd.GeoDataFrame(
        {"code": ["V1", "T1", "C1"], "name": ["村", "镇", "县"], "级别": ["村", "乡镇", "县"]},
        geometry=[
            MultiPolygon([box(111.1, 28.3, 111.2, 28.4)]),
            MultiPolygon([box(111.0, 28.2, 111.5, 28.6)]),
            MultiPolygon([box(110.7, 28.0, 112.0, 28.7)]),
        ],
        crs=4326,
    ).to_file(path)
    import_admin_units(engine=db, path=path, service_area=anhua)
    assert units(db) == {
        "C1": ("县", "county", None),
        "T1": ("镇", "township", "C1"),
        "V1": ("村", "village", "T1"),
    }


def test_unknown_parent_code_rejects_the_file(db, tmp_path, anhua):
    path = tmp_path / "villages.geojson"
    village_polygons().to_file(path)
    with pytest.raises(InvalidFeatures) as caught:
        import_admin_units(
            engine=db,
            path=path,
            options=AdminImportOptions(level="village", parent_code_field="parent"),
            service_area=anhua,
        )
    assert "430923101" in caught.value.message("en")
    assert units(db) == {}


def test_admin_units_need_a_level(db, tmp_path, anhua):
    path = tmp_path / "villages.geojson"
    village_polygons().to_file(path)
    with pytest.raises(LevelMissing):
        import_admin_units(engine=db, path=path, service_area=anhua)


def _villages(engine: Engine, folder, anhua) -> None:
    path = folder / "villages.geojson"
    village_polygons().to_file(path)
    import_admin_units(
        engine=engine, path=path, options=AdminImportOptions(level="village"), service_area=anhua
    )


def test_plots_are_placed_in_villages_by_location(db, tmp_path, anhua):
    _villages(db, tmp_path, anhua)
    frame = tea_plots(2)  # at 111.200 and 111.202 E: west village
    east = tea_plots(1, lon=111.30).assign(**{"地块编码": ["EAST"]})
    path = tmp_path / "plots.geojson"
    gpd.GeoDataFrame([*frame.to_dict("records"), *east.to_dict("records")], crs=4326).to_file(path)
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert summary.villages == {"by_location": 3, "by_attribute": 0, "unassigned": 0}
    with db.connect() as conn:
        placed = dict(
            conn.execute(
                text("SELECT p.code, a.name FROM plots p JOIN admin_units a ON a.id = p.village_id")
            ).all()
        )
    assert placed["EAST"] == "马路村"
    assert placed[frame["地块编码"][0]] == "云台村"


def test_villages_imported_after_the_plots_take_them_in(db, tmp_path, anhua):
    frame = tea_plots(2)
    path = tmp_path / "plots.geojson"
    frame.to_file(path)
    first = import_plots(engine=db, path=path, service_area=anhua)
    assert first.villages["unassigned"] == 2
    villages = tmp_path / "villages.geojson"
    village_polygons().to_file(villages)
    options = AdminImportOptions(level="village")
    summary = import_admin_units(engine=db, path=villages, options=options, service_area=anhua)
    assert [n.params for n in summary.notes if n.key == "import_note_plots_placed"] == [
        {"count": 2}
    ]
    with db.connect() as conn:
        names = conn.execute(
            text("SELECT a.name FROM plots p JOIN admin_units a ON a.id = p.village_id")
        ).scalars()
        assert sorted(names) == ["云台村", "云台村"]
    again = import_admin_units(engine=db, path=villages, options=options, service_area=anhua)
    assert not [n for n in again.notes if n.key == "import_note_plots_placed"]


def test_plots_outside_villages_use_the_village_attribute(db, tmp_path, anhua):
    _villages(db, tmp_path, anhua)
    path = tmp_path / "plots.geojson"
    gpd.GeoDataFrame(
        {
            "code": ["BY-CODE", "BY-NAME", "UNKNOWN"],
            "所在村": ["430923101202", "云台村", "不存在村"],
        },
        geometry=[
            lonlat_square(111.6, 28.6),
            lonlat_square(111.61, 28.6),
            lonlat_square(111.62, 28.6),
        ],
        crs=4326,
    ).to_file(path)
    summary = import_plots(engine=db, path=path, service_area=anhua)
    assert summary.villages == {"by_location": 0, "by_attribute": 2, "unassigned": 1}
    rows = plot_rows(db)
    with db.connect() as conn:
        names = dict(conn.execute(text("SELECT id, name FROM admin_units")).all())
    assert names[rows["BY-CODE"]["village_id"]] == "马路村"
    assert names[rows["BY-NAME"]["village_id"]] == "云台村"
    assert rows["UNKNOWN"]["village_id"] is None
    assert rows["UNKNOWN"]["village_name"] == "不存在村"  # the raw text is kept


def test_cli_admin_units_import_with_parent_code_field(cli, tmp_path):
    county, township = _township_and_county(tmp_path)
    assert cli("admin-units", "import", str(county), "--level", "county").exit_code == 0
    assert cli("admin-units", "import", str(township), "--level", "township").exit_code == 0
    villages = tmp_path / "villages.geojson"
    village_polygons().to_file(villages)
    result = cli(
        "--json",
        "admin-units",
        "import",
        str(villages),
        "--level",
        "village",
        "--parent-code-field",
        "parent",
    )
    assert result.exit_code == 0, result.output
    summary = json_of(result)
    assert summary["counts"]["inserted"] == 2
    assert summary["parents"]["by_attribute"] == 2
