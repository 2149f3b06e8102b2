"""Jobs and schedules as the API, the admin page and ``skyground scheduler`` list them.

The ``jobs`` rows are the job history: every import, ingest and scheduled run, with its state,
attempts, counts and last error. Times are aware UTC datetimes.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.queries.common import InvalidParameterValue, Page, check_text, check_window
from models.tables import JOB_STATES, Job, Schedule

__all__ = [
    "DEFAULT_BACKOFF_SECONDS",
    "DEFAULT_MAX_ATTEMPTS",
    "JobRecord",
    "ScheduleRecord",
    "get_job",
    "list_jobs",
    "list_schedules",
]

#: Attempts and backoff of a job that has no schedule (the schedule's columns otherwise).
DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_BACKOFF_SECONDS: Final = 60


@dataclass(frozen=True)
class JobRecord:
    """One job: what ran, how it went, and when it may run again."""

    id: uuid.UUID
    kind: str
    state: str
    attempt: int
    max_attempts: int
    progress: float
    params: dict[str, Any]
    counts: dict[str, Any]
    error: str | None
    schedule_id: int | None
    schedule: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for ``--json``)."""
        return asdict(self)


@dataclass(frozen=True)
class ScheduleRecord:
    """One recurring job."""

    id: int
    name: str
    kind: str
    params: dict[str, Any]
    cron: str
    timezone: str
    enabled: bool
    max_attempts: int
    backoff_seconds: int
    next_run_at: datetime
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for ``--json``)."""
        return asdict(self)


def _job_select() -> Select[Job, str, int]:
    return select(
        Job,
        Schedule.name,
        func.coalesce(Schedule.max_attempts, DEFAULT_MAX_ATTEMPTS).label("max_attempts"),
    ).outerjoin(Schedule, Schedule.id == Job.schedule_id)


def _job_record(job: Job, schedule: str | None, max_attempts: int) -> JobRecord:
    return JobRecord(
        id=job.id,
        kind=job.kind,
        state=job.state,
        attempt=job.attempt,
        max_attempts=max_attempts,
        progress=job.progress,
        params=job.params,
        counts=job.counts,
        error=job.error,
        schedule_id=job.schedule_id,
        schedule=schedule,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        run_after=job.run_after,
    )


def list_jobs(
    *,
    session: Session,
    state: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[JobRecord]:
    """Jobs, newest first, optionally of one state (``dead``: the dead-letter list) and kind."""
    if state is not None and state not in JOB_STATES:
        raise InvalidParameterValue(name="state", value=state, reason="@reason_job_state")
    check_window(limit=limit, offset=offset)
    conditions = []
    if state is not None:
        conditions.append(Job.state == state)
    if kind is not None:
        conditions.append(Job.kind == check_text("kind", kind))
    total = session.execute(select(func.count()).select_from(Job).where(*conditions)).scalar_one()
    rows = session.execute(
        _job_select()
        .where(*conditions)
        .order_by(Job.created_at.desc(), Job.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return Page(
        items=[_job_record(*row) for row in rows],
        number_matched=total,
        limit=limit,
        offset=offset,
    )


def get_job(*, session: Session, job_id: uuid.UUID) -> JobRecord:
    """One job by id.

    Raises:
        NotFound: no job has this id.
    """
    row = session.execute(_job_select().where(Job.id == job_id)).first()
    if row is None:
        raise NotFound(kind="@kind_job", ident=str(job_id))
    return _job_record(*row)


def list_schedules(*, session: Session) -> list[ScheduleRecord]:
    """Every schedule, by name."""
    rows = session.execute(select(Schedule).order_by(Schedule.name)).scalars()
    return [
        ScheduleRecord(
            id=s.id,
            name=s.name,
            kind=s.kind,
            params=s.params,
            cron=s.cron,
            timezone=s.timezone,
            enabled=s.enabled,
            max_attempts=s.max_attempts,
            backoff_seconds=s.backoff_seconds,
            next_run_at=s.next_run_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in rows
    ]
