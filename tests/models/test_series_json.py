"""The series as JSON built by PostgreSQL equals the Pydantic form of the same rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from models.queries.series import plot_index_series, plot_index_series_json
from service.schemas.series import observation_out

TIMES = [
    datetime(2021, 3, 1, 3, 10, 5, 123456, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),  # already 1 March in Shanghai
    datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
]

_STAT = """
INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id, mean, std, min,
    max, median, p10, p90, valid_weight, valid_count, total_weight, clear_fraction,
    masked_shares, flagged, flag_reason)
VALUES (:plot, 'NDVI', :t, 'stac', :scene, :mean, 0.1, -1e-05, 5.0, 123456789.123, NULL,
    0.30000000000000004, 4.25, 5, 6, :clear, CAST(:shares AS jsonb), :flagged, :reason)
"""


@pytest.fixture()
def series(db: Engine) -> int:
    """One plot with three NDVI observations, the second flagged without values."""
    with db.begin() as conn:
        plot = conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('茶-1', ST_Multi("
                "ST_MakeEnvelope(111.1, 28.3, 111.1001, 28.3001, 4326)), 100) RETURNING id"
            )
        ).scalar_one()
        for n, moment in enumerate(TIMES):
            scene = conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES "
                    "('stac', :key, :t, ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326)))"
                    " RETURNING id"
                ),
                {"key": f"S{n}", "t": moment},
            ).scalar_one()
            flagged = n == 1
            conn.execute(
                text(_STAT),
                {
                    "plot": plot, "t": moment, "scene": scene,
                    "mean": None if flagged else 0.1 * (n + 1), "clear": 0.25 if flagged else 1,
                    "shares": json.dumps({"cloud": 0.6, "cloud_shadow": 0.15} if flagged else {}),
                    "flagged": flagged, "reason": "low_clear_fraction" if flagged else None,
                },
            )  # fmt: skip
    return int(plot)


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "UTC", "America/St_Johns"])
@pytest.mark.parametrize("include_flagged", [False, True])
def test_json_series_equals_the_pydantic_form(db, series, timezone, include_flagged):
    with Session(db) as session, session.begin():
        code, records = plot_index_series(
            session=session, plot_id=series, index="NDVI", include_flagged=include_flagged
        )
        want = [observation_out(r, timezone=timezone).model_dump() for r in records]
        got_code, body = plot_index_series_json(
            session=session, plot_id=series, index="NDVI", timezone=timezone,
            include_flagged=include_flagged,
        )  # fmt: skip
    assert got_code == code == "茶-1"
    got = json.loads(body)
    assert len(got) == (3 if include_flagged else 2)
    assert got == want
    # Same key order as the schema, and floats that read back to the stored doubles.
    assert [list(o) for o in got] == [list(o) for o in want]
    assert got[0]["median"] == 123456789.123 and got[0]["p90"] == 0.30000000000000004


def test_json_series_keeps_the_time_window(db, series):
    with Session(db) as session, session.begin():
        _, body = plot_index_series_json(
            session=session, plot_id=series, index="NDVI", timezone="Asia/Shanghai",
            start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
            include_flagged=True,
        )  # fmt: skip
    assert [o["date"] for o in json.loads(body)] == ["2024-03-01"]


def test_json_series_of_a_plot_without_observations_is_an_empty_list(db, series):
    with Session(db) as session, session.begin():
        _, body = plot_index_series_json(
            session=session, plot_id=series, index="EVI", timezone="Asia/Shanghai"
        )
    assert body == "[]"
