"""``skyground demo --no-serve`` loads the generated county; a second run changes nothing."""

from __future__ import annotations

import json

import geopandas as gpd
from sqlalchemy import text
from typer.testing import CliRunner

from service.cli import app
from tests.checksums import primary_keys, table_checksums
from tests.conftest import make_world_dir

runner = CliRunner()


def test_demo_loads_every_generated_plot_once(db, database_url):
    home = make_world_dir("skyground-demo-")
    env = {"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_HOME": str(home)}
    first = runner.invoke(app, ["--json", "demo", "--no-serve"], env=env)
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

    sums, keys = table_checksums(db), primary_keys(db, "plots")
    second = runner.invoke(app, ["--json", "demo", "--no-serve"], env=env)
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)["imports"][-1]["counts"]
    assert again["unchanged"] == len(generated) and again["inserted"] == again["updated"] == 0
    sums_after = table_checksums(db)
    sums_after.pop("jobs"), sums.pop("jobs")  # each run records its own job rows
    assert sums_after == sums
    assert primary_keys(db, "plots") == keys
