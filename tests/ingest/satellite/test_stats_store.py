"""Storing statistics (binary COPY, upsert, plot_latest upkeep) against a Python model.

A random sequence of scene stores — three dates, two sources, two scenes per date and
source (same key: a second tile), ties on clear fraction and valid weight, flagged rows,
rows without a mean, re-stores with changed values — is applied to the database and to a
plain-Python model of the rules written in ``ingest.satellite.ingest``. After every store
the stored observations and every plot's latest values must equal the model's.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, text

from ingest.satellite._stats_db import store_stats
from ingest.satellite.masks import MaskReason
from ingest.satellite.stats import (
    FLAG_FEW_PIXELS,
    FLAG_IMPLAUSIBLE_RADIOMETRY,
    FLAG_LOW_CLEAR_FRACTION,
    FLAG_NO_VALID_PIXELS,
    FLAG_OUTSIDE_GRID,
    StatsTable,
)
from models.db import session_scope

INDICES = ("NDVI", "EVI")
DATES = tuple(datetime(2025, 5, d, 3, tzinfo=UTC) for d in (1, 6, 11))
SOURCES = ("local", "stac")
REASONS = (
    None,
    FLAG_FEW_PIXELS,
    FLAG_LOW_CLEAR_FRACTION,
    FLAG_NO_VALID_PIXELS,
    FLAG_IMPLAUSIBLE_RADIOMETRY,
)
Key = tuple[int, str, datetime, str]


def _plot_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(text("SELECT id FROM plots ORDER BY id")).scalars()]


def _scene(engine: Engine, source: str, key: str, when: datetime) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                    " (:s, :k, :t, ST_Multi(ST_MakeEnvelope(9.9, 46.0, 10.0, 46.1, 4326)))"
                    " ON CONFLICT (source, scene_key) DO UPDATE SET source = EXCLUDED.source"
                    " RETURNING id"
                ),
                {"s": source, "k": key, "t": when},
            ).scalar_one()
        )


def _table(rng: random.Random, plot_ids: list[int]) -> StatsTable:
    n = len(plot_ids)
    reasons = [rng.choice(REASONS + (None, None)) for _ in range(n)]
    reasons[rng.randrange(n)] = FLAG_OUTSIDE_GRID  # never stored
    mean = np.array([rng.choice([rng.random(), rng.random(), np.nan]) for _ in range(n)])
    flagged = np.array([r is not None for r in reasons])
    total = np.array([0.0 if r == FLAG_OUTSIDE_GRID else 20.0 for r in reasons])
    return StatsTable(
        plot_id=np.array(plot_ids),
        mean=mean,
        std=mean / 10,
        min=mean - 0.1,
        max=mean + 0.1,
        median=mean,
        p10=mean - 0.05,
        p90=mean + 0.05,
        valid_weight=np.array([rng.choice([10.0, 12.0]) for _ in range(n)]),
        valid_count=np.array([rng.randrange(20) for _ in range(n)], dtype=np.int64),
        total_weight=total,
        clear_fraction=np.array([rng.choice([0.5, 0.8]) for _ in range(n)]),
        masked_shares={MaskReason.CLOUD: np.array([rng.random() / 2 for _ in range(n)])},
        flagged=flagged,
        flag_reason=np.array(reasons, dtype=object),
    )


def _model_store(model: dict[Key, dict[str, Any]], row: dict[str, Any], key: Key) -> None:
    """The upsert rule: same scene replaces; another scene only when clearer (then heavier)."""
    old = model.get(key)
    if old is None or old["scene_id"] == row["scene_id"]:
        model[key] = row
    elif (row["clear_fraction"], row["valid_weight"]) > (
        old["clear_fraction"],
        old["valid_weight"],
    ):
        model[key] = row


def _model_latest(model: dict[Key, dict[str, Any]]) -> dict[tuple[int, str], tuple[Any, ...]]:
    best: dict[tuple[int, str], tuple[Any, ...]] = {}
    order: dict[tuple[int, str], tuple[Any, ...]] = {}
    for (plot, index, when, source), row in model.items():
        if row["flagged"] or row["mean"] is None:
            continue
        # newest, then clearer, then heavier, then the first source name
        rank = (when, row["clear_fraction"], row["valid_weight"], [-ord(c) for c in source])
        if (plot, index) not in order or rank > order[(plot, index)]:
            order[(plot, index)] = rank
            best[(plot, index)] = (when, source, row["scene_id"], row["mean"])
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_stores_keep_observations_and_latest_values_as_the_rules_say(
    plots: Engine, seed: int
) -> None:
    rng = random.Random(seed)
    plot_ids = _plot_ids(plots)
    model: dict[Key, dict[str, Any]] = {}
    last: dict[tuple[datetime, str, str], dict[str, StatsTable]] = {}
    for _ in range(30):
        when, source = rng.choice(DATES), rng.choice(SOURCES)
        scene_key = f"{source}-{when:%d}-{rng.choice('ab')}"
        scene_id = _scene(plots, source, scene_key, when)
        previous = last.get((when, source, scene_key))
        if previous is not None and rng.random() < 0.3:
            tables = previous  # the same scene again, unchanged
        else:
            tables = {name: _table(rng, plot_ids) for name in INDICES}
        last[(when, source, scene_key)] = tables
        with session_scope(plots) as session:
            with_rows, flagged = store_stats(
                session, acquired_at=when, source=source, scene_id=scene_id, tables=tables
            )
        stored = 0
        for name, table in tables.items():
            for k, plot in enumerate(table.plot_id):
                if table.flag_reason[k] == FLAG_OUTSIDE_GRID:
                    continue
                stored += bool(table.flagged[k])
                mean = float(table.mean[k])
                row = {
                    "scene_id": scene_id,
                    "mean": None if np.isnan(mean) else mean,
                    "clear_fraction": float(table.clear_fraction[k]),
                    "valid_weight": float(table.valid_weight[k]),
                    "flagged": bool(table.flagged[k]),
                    "flag_reason": table.flag_reason[k],
                    "cloud": float(table.masked_shares[MaskReason.CLOUD][k]),
                }
                _model_store(model, row, (int(plot), name, when, source))
        assert flagged == stored
        assert with_rows == len(
            {int(p) for t in tables.values() for p, r in zip(t.plot_id, t.flag_reason, strict=True)
             if r != FLAG_OUTSIDE_GRID}
        )  # fmt: skip

        with plots.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT plot_id, index, acquired_at, source, scene_id, mean, clear_fraction,"
                    " valid_weight, flagged, flag_reason, masked_shares FROM plot_index_stats"
                )
            ).all()
            latest = conn.execute(
                text("SELECT plot_id, index, acquired_at, source, scene_id, mean FROM plot_latest")
            ).all()
        got = {
            (r.plot_id, r.index, r.acquired_at, r.source): {
                "scene_id": r.scene_id,
                "mean": r.mean,
                "clear_fraction": r.clear_fraction,
                "valid_weight": r.valid_weight,
                "flagged": r.flagged,
                "flag_reason": r.flag_reason,
                "cloud": r.masked_shares["cloud"],
            }
            for r in rows
        }
        assert got == model
        assert {(r.plot_id, r.index): tuple(r[2:]) for r in latest} == _model_latest(model)


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _store(engine: Engine, scene_id: int, when: datetime, tables: dict[str, StatsTable]) -> None:
    with session_scope(engine) as session:
        store_stats(session, acquired_at=when, source="local", scene_id=scene_id, tables=tables)


def _clear_table(plot_ids: list[int]) -> StatsTable:
    """Every plot unflagged with a mean, so each gets rows and a latest value."""
    rng = random.Random(7)
    table = _table(rng, plot_ids)
    n = len(plot_ids)
    return replace(
        table,
        mean=np.linspace(0.2, 0.8, n),
        total_weight=np.full(n, 20.0),
        flagged=np.zeros(n, dtype=bool),
        flag_reason=np.full(n, None, dtype=object),
    )


def test_deleting_plots_and_scenes_deletes_their_statistics(plots: Engine) -> None:
    ids = _plot_ids(plots)
    first = _scene(plots, "local", "one", DATES[0])
    second = _scene(plots, "local", "two", DATES[1])
    _store(plots, first, DATES[0], {"NDVI": _clear_table(ids)})
    _store(plots, second, DATES[1], {"NDVI": _clear_table(ids)})
    assert _count(plots, "SELECT count(*) FROM plot_index_stats") == 2 * len(ids)
    assert _count(plots, f"SELECT count(*) FROM plot_latest WHERE scene_id = {second}") == len(ids)

    with plots.begin() as conn:
        conn.execute(text("DELETE FROM plots WHERE id = :id"), {"id": ids[0]})
    where = f"WHERE plot_id = {ids[0]}"
    assert _count(plots, f"SELECT count(*) FROM plot_index_stats {where}") == 0
    assert _count(plots, f"SELECT count(*) FROM plot_latest {where}") == 0
    assert _count(plots, "SELECT count(*) FROM plot_index_stats") == 2 * (len(ids) - 1)

    with plots.begin() as conn:
        conn.execute(text("DELETE FROM scenes WHERE id = :id"), {"id": second})
    assert _count(plots, f"SELECT count(*) FROM plot_index_stats WHERE scene_id = {second}") == 0
    assert _count(plots, f"SELECT count(*) FROM plot_latest WHERE scene_id = {second}") == 0
    assert _count(plots, "SELECT count(*) FROM plot_index_stats") == len(ids) - 1

    with plots.begin() as conn:
        conn.execute(text("TRUNCATE scenes CASCADE"))
    assert _count(plots, "SELECT count(*) FROM plot_index_stats") == 0


def test_a_plot_deleted_after_it_was_read_gets_no_rows(plots: Engine) -> None:
    ids = _plot_ids(plots)
    scene = _scene(plots, "local", "one", DATES[0])
    tables = {"NDVI": _clear_table(ids)}  # computed while the plot still existed
    with plots.begin() as conn:
        conn.execute(text("DELETE FROM plots WHERE id = :id"), {"id": ids[-1]})
    _store(plots, scene, DATES[0], tables)
    stored = _count(plots, "SELECT count(*) FROM plot_index_stats")
    assert stored == len(ids) - 1
    assert _count(plots, f"SELECT count(*) FROM plot_index_stats WHERE plot_id = {ids[-1]}") == 0


def _stored(engine: Engine) -> dict[int, tuple[int, float]]:
    """plot id → (scene id, clear fraction) of the NDVI rows at DATES[0] from "local"."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT plot_id, scene_id, clear_fraction FROM plot_index_stats"
                " WHERE index = 'NDVI' AND acquired_at = :t AND source = 'local'"
            ),
            {"t": DATES[0]},
        ).all()
    return {r.plot_id: (r.scene_id, r.clear_fraction) for r in rows}


def _two_scenes(engine: Engine) -> tuple[list[int], StatsTable, StatsTable]:
    """Plot ids, a clear table, and one whose odd plots are clearer (the rest less clear)."""
    ids = _plot_ids(engine)
    first = _clear_table(ids)
    clearer = np.array([0.9 if k % 2 else 0.3 for k in range(len(ids))])
    return ids, first, replace(first, clear_fraction=clearer, mean=first.mean + 0.01)


def _by_the_rule(
    ids: list[int], first: int, first_table: StatsTable, second: int
) -> dict[int, tuple[int, float]]:
    """What _stored gives after _two_scenes' tables: odd plots clearer in the second (0.9)."""
    return {
        plot: (second, 0.9) if k % 2 else (first, float(first_table.clear_fraction[k]))
        for k, plot in enumerate(ids)
    }


def test_a_key_held_by_a_moved_scene_falls_back_to_the_upsert(plots: Engine, caplog) -> None:
    ids, first_table, second_table = _two_scenes(plots)
    first = _scene(plots, "local", "one", DATES[0])
    _store(plots, first, DATES[0], {"NDVI": first_table})
    with plots.begin() as conn:  # the scene moves; its rows keep their time
        conn.execute(text("UPDATE scenes SET acquired_at = :t WHERE id = :id"),
                     {"t": DATES[1], "id": first})  # fmt: skip
    second = _scene(plots, "local", "two", DATES[0])
    with caplog.at_level("INFO", logger="ingest.satellite._stats_db"):
        _store(plots, second, DATES[0], {"NDVI": second_table})
    assert "a key exists; upserting" in caplog.text
    assert _stored(plots) == _by_the_rule(ids, first, first_table, second)


def test_the_first_scene_of_a_time_goes_in_without_a_conflict(plots: Engine, caplog) -> None:
    ids, table, _ = _two_scenes(plots)
    scene = _scene(plots, "local", "one", DATES[0])
    with caplog.at_level("DEBUG", logger="ingest.satellite._stats_db"):
        _store(plots, scene, DATES[0], {"NDVI": table})
        _store(plots, scene, DATES[0], {"NDVI": table})  # again: the upsert, changing nothing
    assert [r.getMessage() for r in caplog.records] == [
        f"statistics of scene {scene}: plain INSERT (the first of its time and source)",
        f"statistics of scene {scene}: upsert",
    ]
    expected = {plot: (scene, float(table.clear_fraction[k])) for k, plot in enumerate(ids)}
    assert _stored(plots) == expected


def test_two_tiles_of_one_time_stored_at_once_follow_the_rule(plots: Engine) -> None:
    # Both transactions see no row of the time yet and take the plain INSERT; the second
    # waits on the first's keys, fails on them once it commits, and upserts instead.
    ids, first_table, second_table = _two_scenes(plots)
    first = _scene(plots, "local", "one", DATES[0])
    second = _scene(plots, "local", "two", DATES[0])
    errors: list[BaseException] = []

    def store_second() -> None:
        try:
            _store(plots, second, DATES[0], {"NDVI": second_table})
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    waiter = threading.Thread(target=store_second)
    with session_scope(plots) as session:
        store_stats(
            session, acquired_at=DATES[0], source="local", scene_id=first,
            tables={"NDVI": first_table},
        )  # fmt: skip
        waiter.start()
        deadline = time.monotonic() + 30
        while _count(plots, _WAITING_ON_A_LOCK) == 0:  # the second INSERT waits for us
            assert waiter.is_alive() and time.monotonic() < deadline, errors
            time.sleep(0.05)
    waiter.join(60)
    assert not errors
    assert _stored(plots) == _by_the_rule(ids, first, first_table, second)


_WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO plot_index_stats%'"
)
