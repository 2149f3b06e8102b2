"""``skyground ingest satellite --source local``: COGs, per-plot statistics, idempotence, crashes.

Plots are inserted with plain SQL over the Barbellino clip (EPSG:32632 bounds 580560,
5101700, 580800, 5102120). Expected values are computed independently: exactextract on the
written COG (decoded with the file's own scale) with the SCL clear mask as weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from ingest.errors import ImplausibleReflectance
from ingest.satellite.ingest import LowClearScene
from service.cli import app
from tests.checksums import table_checksums
from tests.conftest import make_world_dir, truncate_all
from tests.ingest.satellite.conftest import BARBELLINO, boa_path, scl_path

INDICES = {"NDVI", "EVI", "SAVI", "NDREI", "GNDVI", "NDMI"}
#: Plots in EPSG:32632 (code → box); P4 reaches past the clip's east edge.
PLOTS = {
    "P1": (580580, 5101720, 580660, 5101800),
    "P2": (580700, 5101900, 580780, 5102000),
    "P3": (580600, 5102020, 580700, 5102100),
    "P4": (580760, 5101750, 580860, 5101850),
}
#: SCL classes not masked by default (Sen2Cor: vegetation, bare, water, unclassified).
CLEAR_SCL = (4, 5, 6, 7)


def _env(database_url: str, home: Path) -> dict[str, str]:
    return {
        "SKYGROUND_DATABASE_URL": database_url,
        "SKYGROUND_HOME": str(home),
        "SKYGROUND_LANG": "en",
    }


def run(database_url: str, home: Path, *args: str) -> dict[str, Any]:
    result: Result = CliRunner().invoke(
        app, ["--json", "ingest", "satellite", *args], env=_env(database_url, home)
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def cog_hashes(home: Path) -> dict[str, str]:
    store = home / "rasters"
    return {
        p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.rglob("*.tif"))
    }


def data_sums(engine: Engine) -> dict[str, str]:
    """Checksums of the data tables (jobs and the audit log record each run's history)."""
    sums = table_checksums(engine)
    sums.pop("jobs")
    sums.pop("audit_log")
    return sums


def stats(engine: Engine, index: str = "NDVI") -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, to_char(s.acquired_at AT TIME ZONE 'UTC', 'YYYYMMDD') AS day,"
                " s.mean, s.flagged, s.flag_reason, s.clear_fraction, s.masked_shares"
                " FROM plot_index_stats s JOIN plots p ON p.id = s.plot_id"
                " WHERE s.index = :index"
            ),
            {"index": index},
        ).mappings()
        return {(r["code"], r["day"]): dict(r) for r in rows}


def test_both_dates_give_stats_equal_to_exactextract_on_the_cog(
    plots: Engine, database_url: str, home: Path
) -> None:
    summary = run(database_url, home, str(BARBELLINO))
    assert [s["scene_key"] for s in summary["scenes"]] == [
        "S2A2A_20170703_022_Barbellino",
        "S2A2A_20190723_022_Barbellino",
    ]
    for scene in summary["scenes"]:
        assert set(scene["indices"]) == INDICES
        assert scene["radiometry"]["offset"] == 0
        assert scene["cogs"]["NDREI"] == f"local/{scene['scene_key']}/NDREI.tif"
    with plots.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM plot_index_stats")).scalar_one()
        names = set(conn.execute(text("SELECT DISTINCT index FROM plot_index_stats")).scalars())
    assert count == len(PLOTS) * 6 * 2
    assert names == INDICES
    ours = stats(plots)
    gdf = gpd.GeoDataFrame(
        {"code": list(PLOTS)}, geometry=[shapely.box(*b) for b in PLOTS.values()], crs=32632
    )
    for day in ("20170703", "20190723"):
        cog = home / "rasters" / "local" / f"S2A2A_{day}_022_Barbellino" / "NDVI.tif"
        with rasterio.open(cog) as ds:
            assert ds.overviews(1), "COG without overviews"
            stored = ds.read(1, masked=True)
            values = stored.astype("float64") * ds.scales[0] + ds.offsets[0]
            profile = ds.profile
            window = rasterio.windows.from_bounds(*ds.bounds, transform=_boa_transform())
        with rasterio.open(scl_path(day)) as ds:
            scl10 = np.kron(ds.read(1), np.ones((2, 2), dtype=np.uint8))
        r0, c0 = int(round(window.row_off)), int(round(window.col_off))
        clear = np.isin(scl10, CLEAR_SCL)[r0 : r0 + values.shape[0], c0 : c0 + values.shape[1]]
        tmp = home / f"w{day}.tif"
        wprofile = {**profile, "dtype": "float32", "nodata": None, "tiled": False}
        wprofile.pop("blockxsize"), wprofile.pop("blockysize")
        with rasterio.open(tmp, "w", **wprofile) as dst:
            dst.write(clear.astype("float32"), 1)
        vtmp = home / f"v{day}.tif"
        vprofile = {**wprofile, "nodata": np.nan}
        with rasterio.open(vtmp, "w", **vprofile) as dst:
            dst.write(values.filled(np.nan).astype("float32"), 1)
        expected = exact_extract(
            str(vtmp), gdf, "weighted_mean", weights=str(tmp), include_cols=["code"],
            output="pandas",
        )  # fmt: skip
        compared = 0
        for code, mean in zip(expected["code"], expected["weighted_mean"], strict=True):
            row = ours[(code, day)]
            if np.isnan(mean):
                assert row["mean"] is None
            else:
                assert row["mean"] == pytest.approx(mean, abs=1e-4)
                compared += 1
        assert compared == len(PLOTS)


def _boa_transform() -> Any:
    with rasterio.open(boa_path("20190723")) as ds:
        return ds.transform


def test_rerun_changes_no_row_and_no_cog_byte(plots: Engine, database_url: str, home: Path) -> None:
    run(database_url, home, str(BARBELLINO))
    before, files = data_sums(plots), cog_hashes(home)
    assert len(files) == 2 * 7
    run(database_url, home, str(BARBELLINO))
    assert data_sums(plots) == before
    assert cog_hashes(home) == files
    with plots.connect() as conn:
        jobs = conn.execute(text("SELECT kind, state, progress FROM jobs")).all()
        sha = dict(conn.execute(text("SELECT path, sha256 FROM raster_assets")).all())
    assert jobs == [("satellite_ingest", "succeeded", 1.0)] * 2
    assert sha == files


def _write_scene(
    folder: Path, name: str, day: str, *, dn_add: int = 0, scl: int | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(boa_path(day)) as ds:
        profile, dn = ds.profile, ds.read()
    valid = (dn != 0) & (dn != 65535)
    dn = np.where(valid, dn.astype(np.int64) + dn_add, dn).astype(np.uint16)
    with rasterio.open(folder / f"{name}_BOA_10.tif", "w", **profile) as dst:
        dst.write(dn)
    with rasterio.open(scl_path(day)) as ds:
        sprofile, classes = ds.profile, ds.read()
    if scl is not None:
        classes = np.full_like(classes, scl)
    with rasterio.open(folder / f"{name}_SCL_10.tif", "w", **sprofile) as dst:
        dst.write(classes)


def test_fully_cloudy_scene_is_stored_flagged(plots: Engine, database_url: str, home: Path) -> None:
    folder = home / "cloudy"
    _write_scene(folder, "S2B2A_20190802_022_Cloudy", "20190723", scl=9)
    with pytest.warns(LowClearScene):
        summary = run(database_url, home, str(folder))
    scene = summary["scenes"][0]
    assert scene["clear_fraction"] == 0
    assert "0% clear" in scene["warnings"][0]
    assert scene["flagged"] == scene["plots_with_stats"] * 6 > 0
    rows = stats(plots)
    assert rows and all(
        r["flagged"] and r["flag_reason"] == "no_valid_pixels" for r in rows.values()
    )
    assert all(r["masked_shares"] == {"cloud": 1.0} for r in rows.values())
    with plots.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot_latest")).scalar_one() == 0
        assert conn.execute(text("SELECT platform FROM scenes")).scalar_one() == "sentinel-2b"


def test_baseline_04_offset_is_applied_once(plots: Engine, database_url: str, home: Path) -> None:
    folder = home / "offset"
    _write_scene(folder, "S2A2A_20230723_022_Offset", "20190723", dn_add=1000)
    # Without metadata or --boa-offset: no offset assumed, and the check says so.
    with pytest.warns(ImplausibleReflectance):
        wrong = run(database_url, home, str(folder))["scenes"][0]["radiometry"]
    assert wrong["plausibility"]["verdict"] == "too_bright"
    assert wrong["plausibility"]["suggested_offset"] == -1000
    summary = run(database_url, home, "--boa-offset", "-1000", str(folder))
    assert summary["scenes"][0]["warnings"] == []
    radiometry = summary["scenes"][0]["radiometry"]
    assert radiometry["offset"] == -1000
    assert radiometry["plausibility"]["verdict"] == "plausible"
    assert 0.01 < radiometry["plausibility"]["red_median"] < 0.1
    shifted = stats(plots)
    run(database_url, home, str(BARBELLINO))
    original = stats(plots)
    for (code, day), row in shifted.items():
        assert day == "20230723"
        other = original[(code, "20190723")]
        assert (row["mean"] is None) == (other["mean"] is None)
        if row["mean"] is not None:
            assert row["mean"] == pytest.approx(other["mean"], abs=1e-6)


def test_plot_latest_holds_the_2019_values(plots: Engine, database_url: str, home: Path) -> None:
    run(database_url, home, str(BARBELLINO))
    with plots.connect() as conn:
        latest = conn.execute(
            text(
                "SELECT l.plot_id, l.index, l.mean, l.acquired_at, s.flagged FROM plot_latest l"
                " JOIN plot_index_stats s USING (plot_id, index, acquired_at, source)"
            )
        ).all()
        unflagged_2019 = conn.execute(
            text(
                "SELECT count(*) FROM plot_index_stats WHERE NOT flagged"
                " AND acquired_at = '2019-07-23T00:00:00Z'"
            )
        ).scalar_one()
    assert latest and len(latest) == unflagged_2019
    assert all(r.acquired_at.year == 2019 and not r.flagged for r in latest)


def latest_by_hand(engine: Engine) -> dict[tuple[int, str], tuple[Any, float]]:
    """Newest unflagged (acquired_at, mean) per plot and index, picked in Python."""
    best: dict[tuple[int, str], tuple[Any, float]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT plot_id, index, acquired_at, mean, flagged FROM plot_index_stats")
        ).all()
    for r in rows:
        key = (r.plot_id, r.index)
        if r.flagged or r.mean is None:
            continue
        if key not in best or r.acquired_at > best[key][0]:
            best[key] = (r.acquired_at, r.mean)
    return best


def test_stricter_rerun_drops_latest_values_that_became_flagged(
    plots: Engine, database_url: str, home: Path
) -> None:
    run(database_url, home, str(BARBELLINO))
    before = latest_by_hand(plots)
    # Only fully clear observations count now: the partly clouded ones lose their latest value.
    result = CliRunner().invoke(
        app,
        ["--json", "ingest", "satellite", str(BARBELLINO)],
        env={**_env(database_url, home), "SKYGROUND_INGEST_MIN_CLEAR_FRACTION": "1.0"},
    )
    assert result.exit_code == 0, result.output
    after = latest_by_hand(plots)
    assert len(after) < len(before)
    with plots.connect() as conn:
        stored = {
            (r.plot_id, r.index): (r.acquired_at, r.mean)
            for r in conn.execute(text("SELECT plot_id, index, acquired_at, mean FROM plot_latest"))
        }
    assert stored == after


def test_sigkill_during_cog_writing_leaves_no_partial_cog(
    plots: Engine, database_url: str, home: Path
) -> None:
    clean = make_world_dir("skyground-clean-")
    try:
        run(database_url, clean, str(BARBELLINO))
        expected_sums, expected_files = data_sums(plots), cog_hashes(clean)
    finally:
        shutil.rmtree(clean, ignore_errors=True)
    # Start over: the same plots (same ids) and an empty store.
    truncate_all(plots)
    insert_plots(plots)
    env = {**os.environ, **_env(database_url, home)}
    # The CLI, pausing 30 s after each COG is written under its temporary name.
    command = [
        sys.executable,
        str(Path(__file__).with_name("_pause_after_temp.py")),
        "30",
        "--json",
        "ingest",
        "satellite",
        str(BARBELLINO),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not list((home / "rasters").rglob(".*.tmp-*")):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no temporary COG appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    # Killed while its first COG sat under a temporary name: nothing under a final name, and
    # the scene's transaction (open while the COGs are built) left no row.
    assert list((home / "rasters").rglob(".*.tmp-*"))
    assert list((home / "rasters").rglob("*.tif")) == []
    with plots.begin() as conn:
        for table in ("scenes", "raster_assets", "plot_index_stats", "plot_latest"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
        # The rolled-back scene row used an id; restart it so the ids match the clean run's.
        conn.execute(text("ALTER SEQUENCE scenes_id_seq RESTART"))
    run(database_url, home, str(BARBELLINO))
    assert data_sums(plots) == expected_sums
    assert cog_hashes(home) == expected_files


def insert_plots(engine: Engine) -> None:
    """Insert :data:`PLOTS` (stored in EPSG:4326 by PostGIS's own transform)."""
    with engine.begin() as conn:
        for code, box in PLOTS.items():
            conn.execute(
                text(
                    "INSERT INTO plots (code, geom, area_m2) VALUES (:code,"
                    " ST_Multi(ST_Transform(ST_GeomFromText(:wkt, 32632), 4326)), :area)"
                ),
                {"code": code, "wkt": shapely.box(*box).wkt, "area": shapely.box(*box).area},
            )


def test_cogs_are_clipped_to_the_plots_with_a_margin(
    db: Engine, database_url: str, home: Path
) -> None:
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('small',"
                " ST_Multi(ST_Transform(ST_GeomFromText(:wkt, 32632), 4326)), 400)"
            ),
            {"wkt": shapely.box(580660, 5101900, 580680, 5101920).wkt},
        )
    summary = run(database_url, home, "--indices", "ndvi,NDRE", str(boa_path("20190723")),
                  str(scl_path("20190723")))  # fmt: skip
    scene = summary["scenes"][0]
    assert scene["indices"] == ["NDVI", "NDREI"]
    with rasterio.open(home / "rasters" / scene["cogs"]["NDREI"]) as ds:
        assert tuple(ds.bounds) == (580610.0, 5101850.0, 580730.0, 5101970.0)
        assert ds.dtypes[0] == "int16" and ds.nodata == -32768 and ds.scales[0] == 1e-4
    with rasterio.open(home / "rasters" / scene["cogs"]["truecolor"]) as ds:
        assert ds.count == 3 and ds.dtypes[0] == "uint8" and ds.nodata == 0
        assert ds.read().max() <= 255 and ds.read().min() >= 1


def test_one_file_per_band_gives_the_indices_its_bands_allow(
    plots: Engine, database_url: str, home: Path
) -> None:
    folder = home / "T32TNR_20190723"
    folder.mkdir()
    with rasterio.open(boa_path("20190723")) as ds:
        profile = {**ds.profile, "count": 1}
        for name, number in (("B02", 2), ("B03", 3), ("B04", 4), ("B08", 8)):
            with rasterio.open(folder / f"T32TNR_20190723_{name}_10m.tif", "w", **profile) as dst:
                dst.write(ds.read(number), 1)
    shutil.copy(scl_path("20190723"), folder / "T32TNR_20190723_SCL_20m.tif")
    summary = run(database_url, home, str(folder))
    scene = summary["scenes"][0]
    assert scene["scene_key"] == "T32TNR_20190723"
    assert scene["acquired_at"] == "2019-07-23T00:00:00+00:00"
    assert scene["indices"] == ["NDVI", "EVI", "SAVI", "GNDVI"]
    separate = stats(plots)
    run(database_url, home, str(BARBELLINO))
    stacked = stats(plots)
    for code in PLOTS:
        assert separate[(code, "20190723")]["mean"] == stacked[(code, "20190723")]["mean"]


def test_bands_without_scl_fail_clearly_and_record_no_job(
    db: Engine, database_url: str, home: Path
) -> None:
    result = CliRunner().invoke(
        app, ["ingest", "satellite", str(boa_path("20190723"))], env=_env(database_url, home)
    )
    assert result.exit_code == 1
    assert "SCL" in result.output and "S2A2A_20190723_022_Barbellino_BOA_10.tif" in result.output
    empty = home / "empty"
    empty.mkdir()
    result = CliRunner().invoke(
        app, ["ingest", "satellite", str(empty)], env=_env(database_url, home)
    )
    assert result.exit_code == 1 and "No satellite scene found" in result.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
