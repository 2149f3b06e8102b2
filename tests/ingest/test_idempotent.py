"""Re-running an import changes nothing: rows, primary keys, updated_at, checksums."""

from __future__ import annotations

from sqlalchemy import text

from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.plots import PlotImportOptions, import_plots
from tests.checksums import primary_keys, table_checksums
from tests.conftest import DATA
from tests.ingest.builders import gbk_shapefile_zip, tea_plots, village_polygons

DATA_TABLES = ("plots", "admin_units")


def _data(engine):
    sums = table_checksums(engine, with_times=True)
    return {name: sums[name] for name in DATA_TABLES}


def test_rerun_leaves_rows_keys_and_updated_at_unchanged(db, tmp_path, anhua):
    villages = tmp_path / "villages.geojson"
    village_polygons().to_file(villages, driver="GeoJSON")
    plots = gbk_shapefile_zip(tmp_path)
    import_admin_units(
        engine=db, path=villages, options=AdminImportOptions(level="village"), service_area=anhua
    )
    first = import_plots(engine=db, path=plots, service_area=anhua)
    assert first.inserted == 3
    before = _data(db)
    keys = {t: primary_keys(db, t) for t in DATA_TABLES}

    again_units = import_admin_units(
        engine=db, path=villages, options=AdminImportOptions(level="village"), service_area=anhua
    )
    again = import_plots(engine=db, path=plots, service_area=anhua)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (again_units.inserted, again_units.updated, again_units.unchanged) == (0, 0, 2)
    assert _data(db) == before  # with timestamps: updated_at did not move
    assert {t: primary_keys(db, t) for t in DATA_TABLES} == keys


def test_rerun_of_real_parcels_is_a_no_op(db):
    path = DATA / "fields-eu-lpis-samples" / "be_vlg_2024_fiboa_0_2.parquet"
    import_plots(engine=db, path=path, service_area=None)
    before = _data(db)
    summary = import_plots(engine=db, path=path, service_area=None)
    assert summary.unchanged == 100 and summary.updated == 0
    assert _data(db) == before


def test_changed_feature_is_updated_and_only_it(db, tmp_path, anhua):
    path = tmp_path / "plots.geojson"
    frame = tea_plots(3)
    frame.to_file(path, driver="GeoJSON")
    import_plots(engine=db, path=path, service_area=anhua)
    with db.connect() as conn:
        stamps = dict(conn.execute(text("SELECT code, updated_at FROM plots")).all())

    frame.loc[1, "承包方"] = "赵六"
    frame.to_file(path, driver="GeoJSON")
    summary = import_plots(engine=db, path=path, service_area=anhua)

    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 2)
    with db.connect() as conn:
        after = dict(conn.execute(text("SELECT code, updated_at FROM plots")).all())
    changed = {code for code in stamps if stamps[code] != after[code]}
    assert changed == {frame.loc[1, "地块编码"]}


def test_dry_run_counts_but_writes_nothing(db, tmp_path, anhua):
    path = tmp_path / "plots.geojson"
    tea_plots(3).to_file(path, driver="GeoJSON")
    before = table_checksums(db, with_times=True)  # jobs included: a dry run records no job
    summary = import_plots(
        engine=db, path=path, options=PlotImportOptions(dry_run=True), service_area=anhua
    )
    assert summary.dry_run and summary.inserted == 3 and summary.job_id is None
    assert table_checksums(db, with_times=True) == before
