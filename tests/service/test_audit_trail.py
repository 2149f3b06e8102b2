"""Plot changes land in the audit log with who made them and the row before and after."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli import app


def square(west: float, south: float, side: float) -> dict[str, object]:
    ring = [
        [west, south],
        [west + side, south],
        [west + side, south + side],
        [west, south + side],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def write_plots(path: Path, second_west: float) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"code": "AUD-1"},
            "geometry": square(111.2, 28.3, 0.001),
        },
        {
            "type": "Feature",
            "properties": {"code": "AUD-2", "owner": "王五"},
            "geometry": square(second_west, 28.31, 0.001),
        },
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def entries(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor, action, object_id, before, after FROM audit_log"
                " WHERE object_type = 'plot' ORDER BY id"
            )
        ).mappings()
        return [dict(r) for r in rows]


def test_imports_are_audited_per_plot_with_the_boundary_before_and_after(
    db: Engine, database_url: str, tmp_path: Path
):
    env = {"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_HOME": str(tmp_path)}
    runner = CliRunner()
    source = write_plots(tmp_path / "plots.geojson", 111.21)
    assert runner.invoke(app, ["plots", "import", str(source)], env=env).exit_code == 0
    first = entries(db)
    assert [(e["action"], e["object_id"]) for e in first] == [
        ("plot.insert", "AUD-1"),
        ("plot.insert", "AUD-2"),
    ]
    assert {e["actor"] for e in first} == {f"cli:{getpass.getuser()}"}
    assert first[1]["before"] is None and first[1]["after"]["owner"] == "王五"

    # The same file again changes nothing, so nothing is logged.
    assert runner.invoke(app, ["plots", "import", str(source)], env=env).exit_code == 0
    assert len(entries(db)) == 2

    # AUD-2 moved east: one update, with both boundaries.
    write_plots(source, 111.215)
    assert runner.invoke(app, ["plots", "import", str(source)], env=env).exit_code == 0
    update = entries(db)[2:]
    assert [(e["action"], e["object_id"]) for e in update] == [("plot.update", "AUD-2")]
    before, after = update[0]["before"], update[0]["after"]
    assert before["geometry"]["coordinates"][0][0][0][0] == 111.21
    assert after["geometry"]["coordinates"][0][0][0][0] == 111.215
    assert before["area_m2"] > 0 and before["owner"] == after["owner"] == "王五"

    # A dry run writes no plot, so it logs nothing either.
    write_plots(source, 111.22)
    dry = runner.invoke(app, ["plots", "import", "--dry-run", str(source)], env=env)
    assert dry.exit_code == 0
    assert len(entries(db)) == 3
