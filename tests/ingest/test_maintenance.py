"""Clustering a closed year of statistics: rows unchanged, pages in key order, CLI and job."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ingest import scheduler
from ingest.maintenance import KIND, cluster_year
from models.errors import InvalidParameter
from service.cli import app

YEAR = 2023


def _fill(engine: Engine) -> None:
    """One plot set's statistics of YEAR, written scene after scene (time order)."""
    rng = random.Random(5)
    with engine.begin() as conn:
        plot_ids = []
        for k in range(40):
            plot_ids.append(
                conn.execute(
                    text(
                        "INSERT INTO plots (code, geom, area_m2) VALUES (:c,"
                        " ST_Multi(ST_Buffer(ST_MakePoint(111.1 + :k * 0.001, 28.3), 0.0002,"
                        " 'quad_segs=1')), 100) RETURNING id"
                    ),
                    {"c": f"M{k}", "k": k},
                ).scalar_one()
            )
        for day in range(0, 360, 10):
            when = datetime(YEAR, 1, 1, 3, tzinfo=UTC) + timedelta(days=day)
            scene = conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                    " ('local', :k, :t, ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326)))"
                    " RETURNING id"
                ),
                {"k": f"s{day}", "t": when},
            ).scalar_one()
            for plot in rng.sample(plot_ids, len(plot_ids)):
                conn.execute(
                    text(
                        "INSERT INTO plot_index_stats (plot_id, index, acquired_at, source,"
                        " scene_id, mean, valid_weight, valid_count, total_weight,"
                        " clear_fraction) VALUES (:p, 'NDVI', :t, 'local', :s, :m, 9, 9, 9, 1)"
                    ),
                    {"p": plot, "t": when, "s": scene, "m": rng.random()},
                )


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    f"SELECT plot_id, acquired_at, mean FROM plot_index_stats_p{YEAR} ORDER BY ctid"
                )
            )
        ]


def test_a_closed_year_is_rewritten_in_key_order(db: Engine) -> None:
    _fill(db)
    before = _rows(db)
    assert before != sorted(before)  # written in time order, not key order
    done = cluster_year(db, YEAR)
    after = _rows(db)
    assert after == sorted(before)  # same rows, now physically in key order
    assert done["rows"] == len(before) and done["partition"] == f"plot_index_stats_p{YEAR}"


def test_the_open_year_and_unknown_years_are_refused(db: Engine) -> None:
    now = datetime.now(UTC)
    with pytest.raises(InvalidParameter):
        cluster_year(db, now.year)
    with pytest.raises(InvalidParameter):
        cluster_year(db, 1990)


def test_cli_and_scheduler_kind(db: Engine, database_url: str) -> None:
    _fill(db)
    env = {"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_LANG": "en"}
    result = CliRunner().invoke(
        app, ["--json", "db", "cluster-statistics", "--year", str(YEAR)], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == len(_rows(db))
    bad = CliRunner().invoke(app, ["db", "cluster-statistics", "--year", "2999"], env=env)
    assert bad.exit_code != 0 and "2999" in bad.output
    job = scheduler.job_kind(KIND)
    assert job(db, {"year": YEAR}, None)["year"] == YEAR  # type: ignore[arg-type]
