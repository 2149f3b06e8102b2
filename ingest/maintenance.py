"""Keeping the statistics table's closed years in key order (migration 0004's design).

``plot_index_stats`` is partitioned by UTC year. Ingest writes a year scene after scene, so
within it a plot's series is spread over many pages; once the year is over it is rewritten
in primary-key order (``CLUSTER … USING`` its primary key), after which a plot's year of one
index sits on a few adjacent pages. :func:`cluster_year` does that for one year (it locks
that year's partition while it runs: minutes at 50,000 plots); the scheduler kind
``db.cluster_statistics`` runs it for the year before the job's start (schedule it once a
year, e.g. ``0 3 2 1 *``), and ``skyground db cluster-statistics`` runs it by hand.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Engine, text

from ingest.scheduler import register
from models.errors import InvalidParameter

__all__ = ["KIND", "cluster_statistics_job", "cluster_year", "partition_of"]

KIND: Final = "db.cluster_statistics"
_TABLE: Final = "plot_index_stats"


def partition_of(engine: Engine, year: int) -> str | None:
    """The name of the partition holding exactly UTC ``year``, or None if there is none."""
    name = f"{_TABLE}_p{year}"
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = CAST(:parent AS regclass) AND c.relname = :name"
            ),
            {"parent": _TABLE, "name": name},
        ).scalar_one_or_none()
    return None if found is None else str(found)


def cluster_year(engine: Engine, year: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Rewrite ``year``'s statistics in key order; what was done (rows, seconds).

    Raises:
        InvalidParameter: the year is not over yet (it would be unsorted again by the next
            ingest) or has no partition of its own.
    """
    current = (now or datetime.now(UTC)).year
    if year >= current:
        raise InvalidParameter(name="year", reason=f"{year} is not over (now {current})")
    partition = partition_of(engine, year)
    if partition is None:
        raise InvalidParameter(name="year", reason=f"no partition {_TABLE}_p{year}")
    with engine.connect() as conn:
        key = conn.execute(
            text(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " WHERE x.indrelid = CAST(:t AS regclass) AND x.indisprimary"
            ),
            {"t": partition},
        ).scalar_one()
    started = time.perf_counter()
    # CLUSTER cannot run inside a transaction block: autocommit.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CLUSTER "{partition}" USING "{key}"'))
        conn.execute(text(f'ANALYZE "{partition}"'))
        rows = conn.execute(text(f'SELECT count(*) FROM "{partition}"')).scalar_one()
    return {
        "year": year,
        "partition": partition,
        "rows": int(rows),
        "seconds": round(time.perf_counter() - started, 3),
    }


def cluster_statistics_job(
    engine: Engine, params: dict[str, Any], job_id: uuid.UUID
) -> dict[str, Any]:
    """Scheduler kind ``db.cluster_statistics``: params ``{}`` (last year) or ``{"year": Y}``."""
    unknown = set(params) - {"year"}
    if unknown:
        raise InvalidParameter(name="params", reason=", ".join(sorted(unknown)))
    year = params.get("year")
    if year is not None and not isinstance(year, int):
        raise InvalidParameter(name="year", reason=repr(year))
    now = datetime.now(UTC)
    return cluster_year(engine, year if year is not None else now.year - 1, now=now)


register(KIND, cluster_statistics_job)
