"""Migration 0004: plot_index_stats partitioned by year, rows kept, ingest upsert unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.db import alembic_config, engine_for, migrate

TIMES = [
    datetime(2019, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2020, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2024, 6, 1, 3, 10, tzinfo=UTC),
    datetime(2045, 2, 1, 3, 10, tzinfo=UTC),  # past the yearly partitions: the default one
]

_STAT = """
INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id, mean,
    valid_weight, valid_count, total_weight, clear_fraction, masked_shares)
VALUES (:plot, :index, :t, 'stac', :scene, :mean, 4.0, 4, 4.0, 1.0, '{"cloud": 0.1}')
"""


@pytest.fixture()
def fresh(database_url: str) -> Iterator[Engine]:
    """An engine on a database of its own, at revision 0003 with one plot and scenes."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS partition_roundtrip")
        conn.exec_driver_sql("CREATE DATABASE partition_roundtrip")
    admin.dispose()
    engine = engine_for(url.set(database="partition_roundtrip").render_as_string(False))
    migrate(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('P1', ST_Multi("
                "ST_MakeEnvelope(111.1, 28.3, 111.1001, 28.3001, 4326)), 100)"
            )
        )
        for n, moment in enumerate(TIMES):
            conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES "
                    "('stac', :key, :t, ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326)))"
                ),
                {"key": f"S{n}", "t": moment},
            )
    try:
        yield engine
    finally:
        engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    with engine.connect() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT plot_id, index, acquired_at, scene_id, mean, masked_shares"
                    " FROM plot_index_stats ORDER BY acquired_at, index"
                )
            )
        ]


def test_upgrade_moves_every_row_into_its_year_and_back(fresh: Engine):
    with fresh.begin() as conn:
        for scene, moment in enumerate(TIMES, 1):
            for index in ("NDVI", "EVI"):
                conn.execute(
                    text(_STAT),
                    {"plot": 1, "index": index, "t": moment, "scene": scene, "mean": 0.5 + scene},
                )
    before = _rows(fresh)
    migrate(fresh)
    assert _rows(fresh) == before
    with fresh.connect() as conn:
        homes = conn.execute(
            text(
                "SELECT acquired_at, tableoid::regclass::text FROM plot_index_stats"
                " WHERE index = 'NDVI' ORDER BY acquired_at"
            )
        ).all()
    assert [home for _, home in homes] == [
        "plot_index_stats_p2019",
        "plot_index_stats_p2020",
        "plot_index_stats_p2024",
        "plot_index_stats_p20_default",
    ]
    _downgrade(fresh, "0003")
    assert _rows(fresh) == before
    migrate(fresh)
    assert _rows(fresh) == before


def test_upsert_on_the_key_keeps_one_row_per_key_on_the_partitioned_table(fresh: Engine):
    # Ingest's statistics upsert: staging table, then INSERT … ON CONFLICT on the key.
    migrate(fresh)
    for mean in (0.4, 0.6):  # the same scene twice, the second time with a new value
        with Session(fresh) as session, session.begin():
            session.execute(
                text(
                    "CREATE TEMPORARY TABLE staging (LIKE plot_index_stats INCLUDING DEFAULTS)"
                    " ON COMMIT DROP"
                )
            )
            session.execute(
                text(
                    "INSERT INTO staging (plot_id, index, acquired_at, source, scene_id, mean,"
                    " valid_weight, valid_count, total_weight, clear_fraction)"
                    " VALUES (1, 'NDVI', :t, 'stac', 3, :mean, 4, 4, 4, 1)"
                ),
                {"t": TIMES[2], "mean": mean},
            )
            session.execute(
                text(
                    "INSERT INTO plot_index_stats AS s SELECT * FROM staging"
                    " ON CONFLICT (plot_id, index, acquired_at, source)"
                    " DO UPDATE SET mean = EXCLUDED.mean WHERE s.mean <> EXCLUDED.mean"
                )
            )
    with fresh.connect() as conn:
        rows = conn.execute(
            text("SELECT mean, tableoid::regclass::text FROM plot_index_stats")
        ).all()
    assert [tuple(r) for r in rows] == [(0.6, "plot_index_stats_p2024")]


def test_acquisition_times_before_1972_are_refused(fresh: Engine):
    migrate(fresh)
    with pytest.raises(IntegrityError, match="ck_plot_index_stats_acquired_at"):
        with fresh.begin() as conn:
            conn.execute(
                text(_STAT),
                {
                    "plot": 1, "index": "NDVI", "t": datetime(1960, 1, 1, tzinfo=UTC),
                    "scene": 1, "mean": 0.5,
                },
            )  # fmt: skip
