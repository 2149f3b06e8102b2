"""Benchmark of the per-plot series query: 5-year series through the real API, warm and cold.

Generates (once) an embedded cluster with N plots (default 50,000), 365 Sentinel-2 scenes
five days apart over five years and six indices per plot and scene: 50,000 × 6 × 365 ≈ 110 M
``plot_index_stats`` rows (~36 GB). Statistics are written as ingest writes them: scene after
scene in time order, each scene staged in a temporary table and moved by one
``INSERT … ON CONFLICT`` on the primary key, the shape of ingest's statistics upsert. With a
partitioned table (migration 0004) closed years are then CLUSTERed, the maintenance step the
design relies on. ``--bulk KEEP`` writes all scenes but the newest KEEP many per statement
instead (keys built afterwards), leaving the same heap order: time order, closed years of a
partitioned table in key order; it is several times faster than one upsert per scene.

The cluster lives in ``--data`` (default ``bench/.data/query``, git-ignored) and is reused
while its row counts match; ``--fresh`` rebuilds it. A reused cluster is migrated to head
first (the time is printed); ``--revision`` pins an older design (e.g. 0003, unpartitioned).

Then the service runs under uvicorn in a subprocess (as ``skyground serve`` runs it, minus the
migration) and random plots are read one after another over HTTP with an API key,
authentication included:

* warm: the 1,000 requests once to warm the caches, then the same 1,000 timed;
* cold: the service and PostgreSQL are stopped, dirty pages written (``sync``), the page
  cache dropped (``/proc/sys/vm/drop_caches``, needs root), both started again and 1,000
  other plots timed, first request included.

Figures are printed one per line: p50/p95/p99/max in milliseconds, their ratio to the goal
(p50 30 ms, p99 100 ms), rows per response, table and index sizes and generation times. A few
responses are checked against a direct SQL query. ``--write-cost`` also times the upsert of
one scene (N × 6 rows) at full size: the newest scene is deleted, vacuumed away and written
again through the same staging and upsert, then vacuumed (both timed).

Run with ``make bench-query`` (``QUERY_PLOTS=2000`` for a smoke run, ``QUERY_BULK=10`` for
the fast load) or ``.venv/bin/python bench/bench_query.py --plots 50000``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models.auth.keys import create_key
from models.auth.users import add_user
from models.cluster import EmbeddedCluster
from models.db import current_revision, engine_for, head_revision, migrate, prepare_database
from models.settings import DatabaseSettings

#: The six Sentinel-2 indices of the catalogue (models.indices), with a typical seasonal
#: mean and amplitude over tea gardens (index units).
INDICES: dict[str, tuple[float, float]] = {
    "NDVI": (0.62, 0.15),
    "EVI": (0.40, 0.12),
    "SAVI": (0.38, 0.10),
    "NDREI": (0.32, 0.08),
    "GNDVI": (0.55, 0.10),
    "NDMI": (0.15, 0.10),
}
SOURCE = "stac"
GOAL_P50_MS = 30.0
GOAL_P99_MS = 100.0
#: Last acquisition of the series; earlier ones every five days (Sentinel-2 A+B revisit).
LAST_ACQUISITION = datetime(2026, 11, 25, 3, 12, 31, tzinfo=UTC)
REVISIT = timedelta(days=5)

_PROGRESS = """
CREATE TABLE IF NOT EXISTS bench_query_progress (
    step text PRIMARY KEY, seconds double precision NOT NULL,
    done_at timestamptz NOT NULL DEFAULT clock_timestamp()
)"""

#: Scenes without statistics yet, oldest first (the ``scene_id`` index answers it).
_TODO = """
SELECT s.id FROM scenes AS s
WHERE NOT EXISTS (SELECT 1 FROM plot_index_stats AS p WHERE p.scene_id = s.id)
ORDER BY s.acquired_at
"""

_HAS_PKEY = "SELECT count(*) FROM pg_constraint WHERE conname = 'pk_plot_index_stats'"
_DROP_KEYS = (
    "ALTER TABLE plot_index_stats DROP CONSTRAINT fk_plot_index_stats_plot_id_plots,"
    " DROP CONSTRAINT fk_plot_index_stats_scene_id_scenes, DROP CONSTRAINT pk_plot_index_stats",
    "DROP INDEX ix_plot_index_stats_scene_id",
)
#: The keys and index of migrations 0001/0004, in the order they are rebuilt after --bulk.
_ADD_KEYS = (
    "ALTER TABLE plot_index_stats ADD CONSTRAINT pk_plot_index_stats"
    " PRIMARY KEY (plot_id, index, acquired_at, source)",
    "CREATE INDEX ix_plot_index_stats_scene_id ON plot_index_stats (scene_id)",
    "ALTER TABLE plot_index_stats ADD CONSTRAINT fk_plot_index_stats_plot_id_plots"
    " FOREIGN KEY (plot_id) REFERENCES plots (id) ON DELETE CASCADE",
    "ALTER TABLE plot_index_stats ADD CONSTRAINT fk_plot_index_stats_scene_id_scenes"
    " FOREIGN KEY (scene_id) REFERENCES scenes (id) ON DELETE CASCADE",
)

#: Partitions of the statistics table with their primary-key index and estimated rows.
_PARTITIONS = """
SELECT c.relname, i.relname, greatest(c.reltuples, 0)
FROM pg_inherits AS h
JOIN pg_class AS c ON c.oid = h.inhrelid
JOIN pg_index AS x ON x.indrelid = c.oid AND x.indisprimary
JOIN pg_class AS i ON i.oid = x.indexrelid
WHERE h.inhparent = to_regclass('plot_index_stats')
ORDER BY c.relname
"""

_META = """
CREATE TABLE IF NOT EXISTS bench_query_meta (
    plots integer NOT NULL, scenes integer NOT NULL, stats bigint NOT NULL,
    plots_s double precision NOT NULL, stats_s double precision NOT NULL,
    vacuum_s double precision NOT NULL, last_scenes_s double precision NOT NULL,
    revision text NOT NULL
)"""

# Rectangles of 20–60 m × 15–40 m on a 70 m grid in EPSG:4546 (CM 111°E) near Anhua,
# stored in EPSG:4326 as ingest stores plots.
_PLOTS = """
INSERT INTO plots (code, name, owner, crop, geom, area_m2, source)
SELECT format('Q%s', lpad(g::text, 7, '0')), format('茶园%s号', g),
    (ARRAY['刘', '李', '陈', '王', '张', '黄', '周', '吴'])[1 + g % 8], 'tea',
    ST_Multi(ST_Transform(ST_MakeEnvelope(e0, n0, e0 + w, n0 + h, 4546), 4326)), w * h,
    'bench'
FROM (
    SELECT g, 505000 + (g % :side) * 70.0 AS e0, 3120000 + (g / :side) * 70.0 AS n0,
        20 + 40 * random() AS w, 15 + 25 * random() AS h
    FROM generate_series(0, :count - 1) AS g
) AS r
"""

_SCENES = """
INSERT INTO scenes (
    source, scene_key, platform, acquired_at, tile_id, orbit, cloud_cover, clear_fraction,
    crs, footprint
)
SELECT :source, format('S2_BENCH_49RFL_%s', to_char(t, 'YYYYMMDD')),
    CASE WHEN g % 2 = 0 THEN 'sentinel-2a' ELSE 'sentinel-2b' END, t, '49RFL', 32,
    c, 1 - c / 100, 'EPSG:32649',
    ST_Multi(ST_MakeEnvelope(110.9, 27.9, 112.1, 28.9, 4326))
FROM (
    SELECT g, CAST(:last AS timestamptz) - (:count - 1 - g) * interval '5 days' AS t,
        round((100 * power(random(), 2))::numeric, 1)::float8 AS c
    FROM generate_series(0, :count - 1) AS g
) AS s
"""

# One scene's statistics into ingest's staging table, in the order ingest COPYs them (index
# after index, plots in id order). Per plot the clear fraction varies around the scene's;
# below 0.3 a row is flagged as ingest flags it (low_clear_fraction, or no_valid_pixels
# without values).
_STAGED_COLUMNS = """
    plot_id, index, acquired_at, source, scene_id, mean, std, min, max, median, p10, p90,
    valid_weight, valid_count, total_weight, clear_fraction, masked_shares, flagged, flag_reason
"""

_ROWS = """
SELECT plot_id, index, acquired_at, source, scene_id,
    CASE WHEN valid THEN m END, CASE WHEN valid THEN sd END,
    CASE WHEN valid THEN m - 2.1 * sd END, CASE WHEN valid THEN m + 2.3 * sd END,
    CASE WHEN valid THEN m + 0.1 * sd END, CASE WHEN valid THEN m - 1.3 * sd END,
    CASE WHEN valid THEN m + 1.2 * sd END,
    total * cf, CASE WHEN valid THEN ceil(total * cf)::int ELSE 0 END, total, cf,
    CASE WHEN cf >= 1 THEN '{}'::jsonb ELSE jsonb_build_object(
        'cloud', round((0.7 * (1 - cf))::numeric, 4),
        'cloud_shadow', round((0.3 * (1 - cf))::numeric, 4)) END,
    cf < 0.3,
    CASE WHEN NOT valid THEN 'no_valid_pixels' WHEN cf < 0.3 THEN 'low_clear_fraction' END
FROM (
    SELECT p.id AS plot_id, i.name AS index, s.acquired_at, s.source, s.id AS scene_id,
        i.base + i.amp * sin(2 * pi() * extract(doy FROM s.acquired_at) / 365.25 - 1.9)
            + 0.04 * (random() - 0.5) AS m,
        0.02 + 0.06 * random() AS sd,
        p.area_m2 / 100 AS total,
        least(1.0, greatest(0.0, s.clear_fraction + 0.2 * (random() - 0.5))) AS cf,
        s.clear_fraction + 0.1 * (random() - 0.5) > 0.05 AS valid,
        i.k
    FROM scenes AS s
    CROSS JOIN unnest(CAST(:names AS text[]), CAST(:bases AS float8[]),
        CAST(:amps AS float8[])) WITH ORDINALITY AS i(name, base, amp, k)
    CROSS JOIN plots AS p
"""

_STAGING = """
CREATE TEMPORARY TABLE bench_stats_staging
    (LIKE plot_index_stats INCLUDING DEFAULTS) ON COMMIT DROP
"""

_STAGE = (
    "INSERT INTO bench_stats_staging (" + _STAGED_COLUMNS + ")"
    + _ROWS + "WHERE s.id = :scene_id) AS r"
)  # fmt: skip

# The shape of ingest's statistics upsert (ingest/sql): one INSERT … ON CONFLICT on the
# primary key from a staging table, updating a stored row only when something changed.
_UPSERT = (
    "INSERT INTO plot_index_stats AS s (" + _STAGED_COLUMNS + ")"
    + " SELECT " + _STAGED_COLUMNS + " FROM bench_stats_staging"
    + """
ON CONFLICT (plot_id, index, acquired_at, source) DO UPDATE SET
    scene_id = EXCLUDED.scene_id, mean = EXCLUDED.mean, std = EXCLUDED.std,
    min = EXCLUDED.min, max = EXCLUDED.max, median = EXCLUDED.median, p10 = EXCLUDED.p10,
    p90 = EXCLUDED.p90, valid_weight = EXCLUDED.valid_weight,
    valid_count = EXCLUDED.valid_count, total_weight = EXCLUDED.total_weight,
    clear_fraction = EXCLUDED.clear_fraction, masked_shares = EXCLUDED.masked_shares,
    flagged = EXCLUDED.flagged, flag_reason = EXCLUDED.flag_reason
WHERE (s.scene_id, s.mean, s.std, s.min, s.max, s.median, s.p10, s.p90, s.valid_weight,
    s.valid_count, s.total_weight, s.clear_fraction, s.masked_shares, s.flagged, s.flag_reason)
    IS DISTINCT FROM (EXCLUDED.scene_id, EXCLUDED.mean, EXCLUDED.std, EXCLUDED.min,
    EXCLUDED.max, EXCLUDED.median, EXCLUDED.p10, EXCLUDED.p90, EXCLUDED.valid_weight,
    EXCLUDED.valid_count, EXCLUDED.total_weight, EXCLUDED.clear_fraction,
    EXCLUDED.masked_shares, EXCLUDED.flagged, EXCLUDED.flag_reason)
"""
)  # fmt: skip

# --bulk: many scenes per statement straight into the table. In time order (scene after
# scene, as ingest writes), or for a closed year of a partitioned table in key order, the
# order CLUSTER leaves it in (migration 0004).
_BULK_TIME = (
    "INSERT INTO plot_index_stats (" + _STAGED_COLUMNS + ")" + _ROWS
    + "WHERE s.acquired_at >= :t0 AND s.acquired_at < :t1) AS r"
    + " ORDER BY acquired_at, k, plot_id"
)  # fmt: skip
_BULK_KEY = (
    "INSERT INTO plot_index_stats (" + _STAGED_COLUMNS + ")" + _ROWS
    + "WHERE s.acquired_at >= :t0 AND s.acquired_at < :t1 AND p.id BETWEEN :p0 AND :p1) AS r"
    + " ORDER BY plot_id, index, acquired_at"
)  # fmt: skip

#: Sizes summed over partitions (a plain table or index has no partition tree).
_SIZES = """
SELECT
    (SELECT coalesce(sum(pg_relation_size(relid)), pg_relation_size(CAST(:t AS regclass)))
        FROM pg_partition_tree(CAST(:t AS regclass))),
    (SELECT coalesce(sum(pg_relation_size(relid)), pg_relation_size(CAST(:pk AS regclass)))
        FROM pg_partition_tree(CAST(:pk AS regclass))),
    (SELECT coalesce(sum(pg_relation_size(relid)), pg_relation_size(CAST(:ix AS regclass)))
        FROM pg_partition_tree(CAST(:ix AS regclass))),
    (SELECT coalesce(sum(pg_total_relation_size(relid)),
            pg_total_relation_size(CAST(:t AS regclass)))
        FROM pg_partition_tree(CAST(:t AS regclass)))
"""

_SERIES_SQL = """
SELECT scene_id, mean, std, valid_count, clear_fraction, masked_shares
FROM plot_index_stats
WHERE plot_id = :p AND index = :i AND NOT flagged
ORDER BY acquired_at, source
"""


def say(name: str, value: object) -> None:
    """Print one figure as ``name: value`` (flushed at once: the runs are long)."""
    print(f"{name}: {value}", flush=True)


# -- generation ---------------------------------------------------------------------------


def stage_and_upsert(session: Session, scene_id: int) -> None:
    """Write one scene's statistics through a staging table and one upsert, as ingest does."""
    session.execute(text(_STAGING))
    session.execute(text(_STAGE), {"scene_id": scene_id, **_index_params()})
    session.execute(text(_UPSERT))


def generate(engine: Engine, plots: int, scenes: int, bulk_keep: int | None) -> None:
    """Plots, scenes and statistics in time order; timings go to ``bench_query_meta``.

    ``bulk_keep`` set: all scenes but the newest ``bulk_keep`` are written by
    :func:`bulk_load`, the rest through ingest's upsert. Resumable: an interrupted run leaves
    whole scenes or chunks (one transaction each) and their times in
    ``bench_query_progress``; the next run writes what has no rows.
    """
    with Session(engine) as session, session.begin():
        session.execute(text(_PROGRESS))
        have = session.scalar(text("SELECT count(*) FROM plots"))
        if have == 0:
            session.execute(text("SELECT setseed(0.42)"))
            start = time.perf_counter()
            side = math.isqrt(plots) + 1
            session.execute(text(_PLOTS), {"side": side, "count": plots})
            session.execute(
                text(_SCENES), {"source": SOURCE, "last": LAST_ACQUISITION, "count": scenes}
            )
            _progress(session, "plots", time.perf_counter() - start)
        elif have != plots:
            raise SystemExit(f"the database holds {have} plots, not {plots}: use --fresh")
    if bulk_keep is not None:
        bulk_load(engine, bulk_keep)
    with Session(engine) as session:
        todo = list(session.scalars(text(_TODO)))
    start = time.perf_counter()
    for n, scene_id in enumerate(todo, 1):
        began = time.perf_counter()
        with Session(engine) as session, session.begin():
            stage_and_upsert(session, scene_id)
            _progress(session, f"scene {scene_id}", time.perf_counter() - began)
        if n % 25 == 0 or n == len(todo):
            elapsed = time.perf_counter() - start
            say("generated_scenes", f"{n}/{len(todo)} in {elapsed:.0f} s")
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) plot_index_stats"))
        conn.execute(text("VACUUM (ANALYZE) plots"))
        conn.execute(text("VACUUM (ANALYZE) scenes"))
    vacuum_s = time.perf_counter() - start
    if bulk_keep is None:  # bulk writes closed years in key order already
        cluster_closed_years(engine)
    with Session(engine) as session, session.begin():
        stats = session.scalar(text("SELECT count(*) FROM plot_index_stats"))
        times = dict(
            session.execute(
                text("SELECT step, seconds FROM bench_query_progress ORDER BY done_at")
            ).all()
        )
        scene_times = [v for k, v in times.items() if k.startswith("scene ")]
        write_s = sum(v for k, v in times.items() if k.startswith(("scene ", "bulk ")))
        session.execute(text(_META))
        session.execute(
            text(
                "INSERT INTO bench_query_meta VALUES"
                " (:plots, :scenes, :stats, :plots_s, :stats_s, :vacuum_s, :last, :rev)"
            ),
            {
                "plots": plots, "scenes": scenes, "stats": stats,
                "plots_s": times.get("plots", 0.0),
                "stats_s": write_s,
                "vacuum_s": vacuum_s, "last": statistics.mean(scene_times[-10:]),
                "rev": current_revision(engine),
            },
        )  # fmt: skip


def _index_params() -> dict[str, Any]:
    return {
        "names": list(INDICES),
        "bases": [b for b, _ in INDICES.values()],
        "amps": [a for _, a in INDICES.values()],
    }


def bulk_load(engine: Engine, keep: int, plot_chunk: int = 5000, scene_chunk: int = 10) -> None:
    """Statistics of all scenes but the newest ``keep``, many scenes per statement.

    Unpartitioned table: ``scene_chunk`` scenes per statement in time order, as ingest
    leaves the heap. Partitioned (0004): the open year likewise; each closed year in key
    order, ``plot_chunk`` plots per statement, two statements at a time: what ingest
    followed by CLUSTER leaves. Chunks done are skipped (``bench_query_progress``).
    """
    with Session(engine) as session:
        times = list(session.scalars(text("SELECT acquired_at FROM scenes ORDER BY acquired_at")))
        partitioned = session.scalar(
            text("SELECT relkind = 'p' FROM pg_class WHERE oid = 'plot_index_stats'::regclass")
        )
        first_plot, last_plot = session.execute(text("SELECT min(id), max(id) FROM plots")).one()
        done = set(session.scalars(text("SELECT step FROM bench_query_progress")))
    cut = times[-keep] if keep else times[-1] + timedelta(seconds=1)
    open_year = times[-1].year
    key_chunks, time_chunks = [], []
    bulk_times = [t for t in times if t < cut]
    for year in sorted({t.year for t in bulk_times}):
        if partitioned and year < open_year:
            t0 = datetime(year, 1, 1, tzinfo=UTC)
            t1 = min(datetime(year + 1, 1, 1, tzinfo=UTC), cut)
            for p0 in range(first_plot, last_plot + 1, plot_chunk):
                key_chunks.append((t0, t1, p0, p0 + plot_chunk - 1))
    in_time = [t for t in bulk_times if not (partitioned and t.year < open_year)]
    for i in range(0, len(in_time), scene_chunk):
        t1 = in_time[i + scene_chunk] if i + scene_chunk < len(in_time) else cut
        time_chunks.append((in_time[i], t1, first_plot, last_plot))

    def load(chunk: tuple[datetime, datetime, int, int], statement: str) -> None:
        step = f"bulk {chunk[0].isoformat()} {chunk[2]}"
        if step in done:
            return
        began = time.perf_counter()
        with Session(engine) as session, session.begin():
            session.execute(text("SET LOCAL work_mem = '1GB'"))
            t0, t1, p0, p1 = chunk
            params = {"t0": t0, "t1": t1, "p0": p0, "p1": p1, **_index_params()}
            session.execute(text(statement), params)
            _progress(session, step, time.perf_counter() - began)

    # Keys and indexes are built after the load (as CLUSTER rebuilds them), foreign keys
    # validated once: row-by-row checks and index inserts would dominate the load.
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        if conn.scalar(text(_HAS_PKEY)):
            for statement in _DROP_KEYS:
                conn.execute(text(statement))
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda c: load(c, _BULK_KEY), key_chunks))
    if key_chunks:
        say("bulk_closed_years_s", f"{time.perf_counter() - began:.0f}")
    for n, chunk in enumerate(time_chunks, 1):
        load(chunk, _BULK_TIME)
        if n % 5 == 0 or n == len(time_chunks):
            say("bulk_time_order_chunks", f"{n}/{len(time_chunks)}")
    began = time.perf_counter()
    with autocommit.connect() as conn:
        conn.execute(text("SET maintenance_work_mem = '2GB'"))
        for statement in _ADD_KEYS:
            conn.execute(text(statement))
    with Session(engine) as session, session.begin():
        _progress(session, "bulk keys and indexes", time.perf_counter() - began)
    say("bulk_keys_and_indexes_s", f"{time.perf_counter() - began:.0f}")


def cluster_closed_years(engine: Engine) -> None:
    """Rewrite each partition of a year before the newest scene's in key order (migration 0004).

    Does nothing for an unpartitioned table. The time goes to ``bench_query_progress``.
    """
    with Session(engine) as session:
        last_year = session.scalar(text("SELECT extract(year FROM max(acquired_at)) FROM scenes"))
        partitions = session.execute(text(_PARTITIONS)).all()
    quote = engine.dialect.identifier_preparer.quote
    began = time.perf_counter()
    closed = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table, pkey, rows in partitions:
            year = table.rsplit("_p", 1)[-1]
            if year.isdigit() and int(year) < last_year and rows > 0:
                conn.execute(text(f"CLUSTER {quote(table)} USING {quote(pkey)}"))
                conn.execute(text(f"ANALYZE {quote(table)}"))
                closed.append(year)
    if closed:
        with Session(engine) as session, session.begin():
            _progress(session, "cluster closed years", time.perf_counter() - began)
        say("clustered_years", " ".join(closed))


def _progress(session: Session, step: str, seconds: float) -> None:
    session.execute(
        text("INSERT INTO bench_query_progress (step, seconds) VALUES (:step, :seconds)"),
        {"step": step, "seconds": seconds},
    )


def stored_counts(engine: Engine) -> dict[str, Any] | None:
    """The generation record if the database holds exactly what it says, else None."""
    with Session(engine) as session:
        if session.scalar(text("SELECT to_regclass('bench_query_meta')")) is None:
            return None
        meta = session.execute(text("SELECT * FROM bench_query_meta")).mappings().first()
        if meta is None:
            return None
        plots = session.scalar(text("SELECT count(*) FROM plots"))
        scenes = session.scalar(text("SELECT count(*) FROM scenes"))
        stats = session.scalar(text("SELECT count(*) FROM plot_index_stats"))
    if (plots, scenes, stats) != (meta["plots"], meta["scenes"], meta["stats"]):
        return None
    return dict(meta)


# -- the service --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """The service under uvicorn in a subprocess on a loopback port, logging to a file."""

    def __init__(self, home: Path) -> None:
        """Serve the database of ``home`` (the bench cluster)."""
        self.home = home
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait for ``/healthz``; seconds until it answered."""
        env = {**os.environ, "SKYGROUND_HOME": str(self.home), "SKYGROUND_DATABASE_URL": ""}
        log = (self.home / "serve.log").open("ab")
        # What ``skyground serve`` runs, without its migration to head (an older design
        # may be under test, see --revision).
        command = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        began = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited {self.process.returncode}; see serve.log")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("serve did not answer /healthz within 120 s")

    def stop(self) -> None:
        """Stop the server (SIGINT, as Ctrl+C) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def timed_series(
    client: httpx.Client, plot_ids: Sequence[int], index: str
) -> tuple[list[float], list[int]]:
    """Wall times (ms) and observation counts of one series request per plot, in turn."""
    times, counts = [], []
    for plot_id in plot_ids:
        began = time.perf_counter()
        response = client.get(f"/api/plots/{plot_id}/indices", params={"index": index})
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"plot {plot_id}: {response.status_code} {response.text[:200]}")
        times.append(elapsed)
        counts.append(len(response.json()["observations"]))
    return times, counts


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0–100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def report(label: str, times: Sequence[float], counts: Sequence[int]) -> None:
    """p50/p95/p99/max, the goal ratios and rows per response."""
    p50, p95, p99 = (percentile(times, q) for q in (50, 95, 99))
    say(f"{label}_ms", f"p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(times):.1f}")
    say(f"{label}_vs_goal", f"p50/30ms {p50 / GOAL_P50_MS:.2f}  p99/100ms {p99 / GOAL_P99_MS:.2f}")
    say(f"{label}_rows_per_response", f"min {min(counts)}  mean {statistics.mean(counts):.1f}")


def check_responses(client: httpx.Client, engine: Engine, plot_ids: Sequence[int]) -> None:
    """Responses equal a direct SQL query: 365 minus flagged rows, the same values."""
    with Session(engine) as session:
        for plot_id in plot_ids:
            for index in ("NDVI", "NDMI"):
                body = client.get(f"/api/plots/{plot_id}/indices", params={"index": index}).json()
                rows = session.execute(text(_SERIES_SQL), {"p": plot_id, "i": index}).all()
                flagged = session.scalar(
                    text(
                        "SELECT count(*) FILTER (WHERE flagged) FROM plot_index_stats"
                        " WHERE plot_id = :p AND index = :i"
                    ),
                    {"p": plot_id, "i": index},
                )
                scenes = session.scalar(text("SELECT count(*) FROM scenes"))
                got = [
                    (o["scene_id"], o["mean"], o["std"], o["valid_count"], o["clear_fraction"],
                     o["masked_shares"])
                    for o in body["observations"]
                ]  # fmt: skip
                want = [tuple(r) for r in rows]
                assert len(got) == scenes - flagged, (plot_id, index, len(got), flagged)
                assert got == want, (plot_id, index)
                assert not any(o["flagged"] for o in body["observations"])
    say("checked_responses", f"{len(plot_ids) * 2} equal to direct SQL")


# -- cold start ---------------------------------------------------------------------------


def drop_page_cache() -> bool:
    """Write dirty pages and drop the page cache; False without the right (root)."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
    except OSError:
        return False
    return True


# -- write cost ---------------------------------------------------------------------------


def write_cost(engine: Engine) -> None:
    """Time the upsert of the newest scene (deleted and vacuumed first) and the vacuum after."""
    with Session(engine) as session, session.begin():
        scene_id = session.scalar(text("SELECT id FROM scenes ORDER BY acquired_at DESC LIMIT 1"))
        session.execute(text("DELETE FROM plot_index_stats WHERE scene_id = :s"), {"s": scene_id})
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        conn.execute(text("VACUUM plot_index_stats"))
    began = time.perf_counter()
    with Session(engine) as session, session.begin():
        stage_and_upsert(session, int(scene_id))
        rows = session.scalar(
            text("SELECT count(*) FROM plot_index_stats WHERE scene_id = :s"), {"s": scene_id}
        )
    say("upsert_one_scene_s", f"{time.perf_counter() - began:.2f} ({rows} rows)")
    began = time.perf_counter()
    with autocommit.connect() as conn:
        conn.execute(text("VACUUM plot_index_stats"))
    say("vacuum_after_scene_s", f"{time.perf_counter() - began:.2f}")


# -- main ---------------------------------------------------------------------------------


def sizes(engine: Engine) -> None:
    """Heap, primary key, scene index and total size of the statistics table (all partitions)."""
    with Session(engine) as session:
        names = {
            "t": "plot_index_stats",
            "pk": "pk_plot_index_stats",
            "ix": "ix_plot_index_stats_scene_id",
        }
        row = session.execute(text(_SIZES), names).one()
    for name, size in zip(("heap", "primary_key", "scene_id_index", "total"), row, strict=True):
        say(f"size_statistics_{name}_mb", f"{int(size or 0) / 2**20:.0f}")


def api_key(engine: Engine) -> str:
    """A fresh API key of the ``bench`` viewer (created on first use)."""
    with Session(engine) as session, session.begin():
        exists = session.scalar(text("SELECT 1 FROM users WHERE username = 'bench'"))
        if not exists:
            add_user(
                session, username="bench", role="viewer", password=None, actor="bench",
                min_password_length=10,
            )  # fmt: skip
        _, key = create_key(session, "bench", f"bench-{time.time_ns()}", actor="bench")
    return key.secret


def main() -> None:
    """Generate or reuse the database, then measure the API warm and cold."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=50_000)
    parser.add_argument("--scenes", type=int, default=365)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parent / ".data" / "query"
    )
    parser.add_argument(
        "--revision", help="Migrate to this revision instead of head (an older design)."
    )
    parser.add_argument(
        "--bulk",
        type=int,
        metavar="KEEP",
        help="Write all scenes but the newest KEEP many per statement (see bulk_load); "
        "the newest KEEP go through ingest's upsert one by one.",
    )
    parser.add_argument("--fresh", action="store_true", help="Rebuild the database.")
    parser.add_argument("--no-cold", action="store_true", help="Skip the cold run.")
    parser.add_argument(
        "--write-cost", action="store_true", help="Also time the upsert of one scene."
    )
    args = parser.parse_args()
    home: Path = args.data.resolve()
    settings = DatabaseSettings(home=home, database_url=None)
    if args.fresh:
        EmbeddedCluster(settings).destroy()
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # the server user enters it (else the cluster moves, see models.cluster)

    cluster = EmbeddedCluster(settings, durable=False)
    cluster.start()
    engine = engine_for(cluster.url(), pool_size=1)
    before = current_revision(engine) if _has_schema(engine) else None
    target = args.revision or head_revision()
    began = time.perf_counter()
    if args.revision is None:
        prepare_database(settings, durable=False)
    else:
        _create_database(cluster)
        migrate(engine, args.revision)
    if before is not None and before != target:
        say("migrated", f"{before} -> {target} in {time.perf_counter() - began:.1f} s")
    say("revision", target)

    meta = stored_counts(engine)
    if meta is None or (meta["plots"], meta["scenes"]) != (args.plots, args.scenes):
        generate(engine, args.plots, args.scenes, args.bulk)
        meta = stored_counts(engine)
        assert meta is not None
    else:
        say("reused", f"{home.name} (generated under revision {meta['revision']})")
    say("plots", meta["plots"])
    say("scenes", meta["scenes"])
    say("statistics_rows", meta["stats"])
    say("generation_plots_scenes_s", f"{meta['plots_s']:.1f}")
    say("generation_statistics_s", f"{meta['stats_s']:.0f}")
    say("generation_rows_per_s", f"{meta['stats'] / meta['stats_s']:.0f}")
    say("generation_upsert_last_10_scenes_mean_s", f"{meta['last_scenes_s']:.2f}")
    say("generation_vacuum_analyze_s", f"{meta['vacuum_s']:.0f}")
    with Session(engine) as session:
        clustered = session.scalar(
            text("SELECT seconds FROM bench_query_progress WHERE step = 'cluster closed years'")
        )
    if clustered is not None:
        say("generation_cluster_closed_years_s", f"{clustered:.0f}")
    sizes(engine)

    rng = random.Random(7)
    with Session(engine) as session:
        plot_ids = list(session.scalars(text("SELECT id FROM plots ORDER BY id")))
    chosen = rng.sample(plot_ids, min(len(plot_ids), 2 * args.requests))
    warm_ids, cold_ids = chosen[: args.requests], chosen[args.requests :]
    indices = list(INDICES)
    key = api_key(engine)

    service = Service(home)
    try:
        service.start()
        with httpx.Client(base_url=service.base, headers={"X-API-Key": key}) as client:
            check_responses(client, engine, warm_ids[:3])
            index = indices[0]
            timed_series(client, warm_ids, index)
            times, counts = timed_series(client, warm_ids, index)
            report("warm", times, counts)
        if not args.no_cold and cold_ids:
            service.stop()
            engine.dispose()
            cluster.stop()
            dropped = drop_page_cache()
            if not dropped:
                say("cold_note", "page cache not dropped (needs root): figures are not cold")
            cluster.start()
            started = service.start()
            say("cold_service_start_s", f"{started:.1f}")
            with httpx.Client(base_url=service.base, headers={"X-API-Key": key}) as client:
                times, counts = timed_series(client, cold_ids, index)
            report("cold" if dropped else "restarted", times, counts)
    finally:
        service.stop()
    if args.write_cost:
        write_cost(engine)
    engine.dispose()
    say("data", f"{home} (cluster left stopped; reused by the next run)")
    cluster.stop()


def _create_database(cluster: EmbeddedCluster) -> None:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = 'skyground'")):
                conn.execute(text("CREATE DATABASE skyground"))
    finally:
        admin.dispose()


def _has_schema(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT to_regclass('alembic_version')")) is not None
    except OperationalError:  # a new cluster has no database yet
        return False


if __name__ == "__main__":
    main()
