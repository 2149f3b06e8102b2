"""Database side of the vector imports: staging, upserts and job rows.

Query functions are keyword-only and take the session; SQL lives in ``ingest/sql/*.sql``.
Geometries travel as hex EWKB with SRID 4326 through ``COPY`` into a temporary staging
table, and one ``INSERT ... ON CONFLICT`` moves them into place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, cast

from psycopg import sql as pgsql
from sqlalchemy import CursorResult, Engine, insert, text, update
from sqlalchemy.orm import Session

from ingest.summary import ImportSummary
from models.errors import SkyGroundError
from models.tables import Job

__all__ = [
    "Progress",
    "copy_rows",
    "finish_job",
    "run_as_job",
    "run_count",
    "run_sql",
    "sql",
    "start_job",
]

Progress = Callable[[int, int], None]


@cache
def sql(name: str) -> str:
    """The text of ``ingest/sql/<name>.sql``."""
    return resources.files("ingest.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def run_sql(*, session: Session, name: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Execute a packaged statement with bound parameters; rows if it returns any."""
    result = cast(CursorResult[Any], session.execute(text(sql(name)), params or {}))
    return list(result.all()) if result.returns_rows else []


def run_count(*, session: Session, name: str, params: dict[str, Any] | None = None) -> int:
    """Execute a packaged UPDATE or DELETE; the number of rows it touched."""
    result = cast(CursorResult[Any], session.execute(text(sql(name)), params or {}))
    return int(result.rowcount)


def copy_rows(
    *,
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    total: int,
    progress: Progress | None = None,
) -> None:
    """``COPY`` rows into a staging table of this session's transaction.

    ``table`` and ``columns`` are quoted as identifiers. Values go through
    psycopg's COPY adaptation (text, numbers, hex EWKB for geometry, JSON text for jsonb).
    """
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(table), pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
    )
    cursor = session.connection().connection.cursor()
    step = max(1, total // 100)
    with cursor.copy(statement) as copy:
        for done, row in enumerate(rows, start=1):
            copy.write_row(row)
            if progress is not None and (done % step == 0 or done == total):
                progress(done, total)


def start_job(*, engine: Engine, kind: str, params: dict[str, Any]) -> uuid.UUID:
    """Record a running job in its own transaction, so a failed import still leaves a row."""
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(Job)
            .values(kind=kind, state="running", params=params, started_at=datetime.now(UTC))
            .returning(Job.id)
        ).scalar_one()
    assert isinstance(job_id, uuid.UUID)
    return job_id


def finish_job(
    *, engine: Engine, job_id: uuid.UUID, counts: dict[str, Any], error: str | None = None
) -> None:
    """Mark a job succeeded (``error`` None) or failed, with its counts, in its own transaction."""
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                state="failed" if error else "succeeded",
                progress=1.0,
                counts=json.loads(json.dumps(counts, default=str)),
                error=error,
                finished_at=datetime.now(UTC),
            )
        )


def run_as_job(
    *,
    engine: Engine,
    kind: str,
    params: dict[str, Any] | None,
    work: Callable[[], ImportSummary],
) -> ImportSummary:
    """Run ``work`` recorded as a ``jobs`` row (``params`` None: a dry run, no row).

    The row is written in its own transactions, so a failed import still leaves a
    ``failed`` row with the error (in English) while its data transaction rolls back.
    """
    if params is None:
        return work()
    job_id = start_job(engine=engine, kind=kind, params=params)
    try:
        summary = work()
    except Exception as error:
        message = error.message("en") if isinstance(error, SkyGroundError) else repr(error)
        finish_job(engine=engine, job_id=job_id, counts={}, error=message)
        raise
    summary.job_id = str(job_id)
    finish_job(engine=engine, job_id=job_id, counts=summary.as_dict("en")["counts"])
    return summary
