"""``skyground demo --no-serve`` loads the generated county; a second run changes nothing.

With ``--imagery`` it also draws plots over the real Barbellino Sentinel-2 clips and ingests
them. ``--seasonal`` (the default) also ingests generated scenes over the county; the tests of
the county and of ``--imagery`` turn it off to stay fast, and its own test generates three
scenes instead of twelve (the generator itself is tested in tests/ingest/test_demo_scenes.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from functools import partial
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ingest.demo import CLIP_LABEL, clip_extent, generate_clip_plots
from ingest.demo_scenes import SCENE_PREFIX, generate_demo_scenes
from models.auth.users import authenticate_password
from models.tables import ROLES
from service.cli import app
from service.cli import demo as demo_command
from tests.checksums import primary_keys, table_checksums
from tests.conftest import make_world_dir

runner = CliRunner()
BARBELLINO = Path(__file__).resolve().parents[1] / "data" / "s2-l2a-barbellino-sen2r"


def test_demo_loads_every_generated_plot_once(db, database_url):
    home = make_world_dir("skyground-demo-")
    env = {"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_HOME": str(home)}
    first = runner.invoke(app, ["--json", "demo", "--no-serve", "--no-seasonal"], env=env)
    assert first.exit_code == 0, first.output
    generated = gpd.read_file(home / "demo" / "plots_cgcs2000_gk111.gpkg")
    plots = json.loads(first.stdout)["imports"][-1]
    assert plots["counts"]["inserted"] == len(generated) > 500
    with db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT count(*), count(village_id), bool_and(attributes ? 'note'),"
                " bool_or(attributes ? 'fid') FROM plots"
            )
        ).one()
    # Every generated plot lies inside a village, so each is assigned by location; the
    # GeoPackage row id is no attribute of a plot.
    assert tuple(stored) == (len(generated), len(generated), True, False)

    # One login per role and a township officer; each password opens a session.
    logins = json.loads(first.stdout)["logins"]
    assert [x["role"] for x in logins] == [*ROLES, "land_officer"]
    assert logins[-1]["scope"] == "430923100"
    with Session(db) as session:
        for login in logins:
            who = authenticate_password(session, login["username"], login["password"])
            assert who.role == login["role"]
            assert (who.scope is None) == (login["scope"] is None)
    assert (home / "demo" / "logins.json").stat().st_mode & 0o777 == 0o600

    sums, keys = table_checksums(db), primary_keys(db, "plots")
    second = runner.invoke(app, ["--json", "demo", "--no-serve", "--no-seasonal"], env=env)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["logins"] == logins
    again = json.loads(second.stdout)["imports"][-1]["counts"]
    assert again["unchanged"] == len(generated) and again["inserted"] == again["updated"] == 0
    sums_after = table_checksums(db)
    sums_after.pop("jobs"), sums.pop("jobs")  # each run records its own job rows
    assert sums_after == sums
    assert primary_keys(db, "plots") == keys


def test_demo_with_imagery_ingests_the_real_clips_over_demo_plots(db, database_url):
    home = make_world_dir("skyground-demo-imagery-")
    env = {
        "SKYGROUND_DATABASE_URL": database_url,
        "SKYGROUND_HOME": str(home),
        "SKYGROUND_LANG": "en",
    }
    args = ["--json", "demo", "--no-serve", "--no-seasonal", "--imagery", str(BARBELLINO)]
    try:
        first = runner.invoke(app, args, env=env)
        assert first.exit_code == 0, first.output + repr(first.exception)
        summary = json.loads(first.stdout)
        imagery = summary["imagery"]
        clip = gpd.read_file(home / "demo" / "clip_plots.geojson")
        codes = sorted(clip["code"])
        assert 8 <= len(codes) <= 12 and codes[0] == "DEMO-S2-01"
        assert clip.crs.to_epsg() == 32632
        assert imagery["plots"]["counts"]["inserted"] == len(codes)
        assert "Copernicus Sentinel data 2017/2019" in imagery["attribution"]
        scenes = imagery["ingest"]["scenes"]
        assert [s["acquired_at"][:10] for s in scenes] == ["2017-07-03", "2019-07-23"]
        assert all(s["plots_with_stats"] == len(codes) for s in scenes)
        with db.connect() as conn:
            stats = conn.execute(
                text(
                    "SELECT p.code, count(*), count(DISTINCT s.index),"
                    " count(DISTINCT s.acquired_at) FROM plot_index_stats s"
                    " JOIN plots p ON p.id = s.plot_id GROUP BY p.code ORDER BY p.code"
                )
            ).all()
            latest = conn.execute(text("SELECT count(*) FROM plot_latest")).scalar_one()
            unflagged = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT DISTINCT plot_id, index FROM plot_index_stats"
                    " WHERE NOT flagged) AS u"
                )
            ).scalar_one()
            assets = conn.execute(text("SELECT path FROM raster_assets")).scalars().all()
            notes = (
                conn.execute(
                    text(
                        "SELECT DISTINCT attributes->>'note' FROM plots WHERE code LIKE 'DEMO-S2-%'"
                    )
                )
                .scalars()
                .all()
            )
        # Only the clip plots touch the clips: each has 6 indices × 2 dates.
        assert stats == [(code, 12, 6, 2) for code in codes]
        assert latest == unflagged > 0
        assert len(assets) == 2 * 7
        assert all((home / "rasters" / path).is_file() for path in assets)
        assert len(notes) == 1 and "Sentinel-2" in notes[0] and "not Anhua" in notes[0]

        sums = table_checksums(db)
        second = runner.invoke(app, args, env=env)
        assert second.exit_code == 0, second.output + repr(second.exception)
        again = json.loads(second.stdout)["imagery"]
        assert again["plots"]["counts"]["unchanged"] == len(codes)
        sums_after = table_checksums(db)
        sums_after.pop("jobs"), sums.pop("jobs")  # each run records its own job rows
        assert sums_after == sums
    finally:
        shutil.rmtree(home, ignore_errors=True)


def file_hashes(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_demo_ingests_generated_seasonal_scenes_and_a_rerun_changes_nothing(
    db, database_url, monkeypatch
):
    monkeypatch.setattr(
        demo_command, "generate_demo_scenes", partial(generate_demo_scenes, count=3)
    )
    home = make_world_dir("skyground-demo-seasonal-")
    env = {
        "SKYGROUND_DATABASE_URL": database_url,
        "SKYGROUND_HOME": str(home),
        "SKYGROUND_LANG": "en",
    }
    try:
        first = runner.invoke(app, ["--json", "demo", "--no-serve"], env=env)
        assert first.exit_code == 0, first.output + repr(first.exception)
        seasonal = json.loads(first.stdout)["seasonal"]
        plots = json.loads(first.stdout)["imports"][-1]["features"]
        scenes = seasonal["ingest"]["scenes"]
        assert [s["scene_key"][: len(SCENE_PREFIX)] for s in scenes] == [SCENE_PREFIX] * 3
        assert all(
            s["plots_with_stats"] == plots and s["acquired_at"][:4] == "2025" for s in scenes
        )
        assert sum(s["flagged"] for s in scenes) > 0  # one of the three dates is cloudy
        assert "not Copernicus data" in seasonal["attribution"]
        assert "Contains modified Copernicus" not in seasonal["attribution"]
        with db.connect() as conn:
            missing = conn.execute(
                text(
                    "SELECT count(*) FROM plots p WHERE NOT EXISTS (SELECT 1 FROM"
                    " plot_index_stats s WHERE s.plot_id = p.id AND s.index = 'NDVI')"
                )
            ).scalar_one()
        assert missing == 0

        # The generated scenes and the COGs made from them (the plots' GeoPackage holds its
        # write time, so its rows are compared through the tables instead).
        folders = (home / "demo" / "scenes", home / "rasters")
        sums, files = table_checksums(db), file_hashes(*folders)
        second = runner.invoke(app, ["--json", "demo", "--no-serve"], env=env)
        assert second.exit_code == 0, second.output + repr(second.exception)
        sums_after = table_checksums(db)
        sums_after.pop("jobs"), sums.pop("jobs")  # each run records its own job rows
        assert sums_after == sums
        assert file_hashes(*folders) == files and len(files) == 3 * 8 + 3 * 7
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_clip_plots_are_small_apart_inside_the_clip_and_deterministic(tmp_path):
    bounds, crs = clip_extent([BARBELLINO])
    assert bounds == (580560, 5101700, 580800, 5102120) and crs == "EPSG:32632"
    first = generate_clip_plots(tmp_path / "a", bounds_utm=bounds, crs=crs)
    second = generate_clip_plots(tmp_path / "b", bounds_utm=bounds, crs=crs)
    assert first.read_bytes() == second.read_bytes()
    plots = gpd.read_file(first)
    inner = shapely.box(*bounds).buffer(-20, join_style="mitre")
    assert 8 <= len(plots) <= 12 and set(plots["note"]) == {CLIP_LABEL}
    assert all(1_000 <= shape.area <= 4_000 for shape in plots.geometry)
    assert all(inner.contains(shape) and shape.is_valid for shape in plots.geometry)
    assert not any(a.intersects(b) for a, b in combinations(plots.geometry, 2))
