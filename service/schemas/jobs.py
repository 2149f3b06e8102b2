"""Jobs and schedules as ``/api/jobs`` and ``/api/schedules`` return them.

Times are ISO 8601 in the deployment's time zone (Asia/Shanghai, ``+08:00``).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from models.queries.jobs import JobRecord, ScheduleRecord
from models.units import local_time

__all__ = ["JobList", "JobOut", "ScheduleOut", "job_out", "schedule_out"]


class JobOut(BaseModel):
    """One job of the history: what ran, how it went, when it may run again."""

    id: uuid.UUID
    kind: str
    state: str = Field(
        description="queued, running, retrying, succeeded, failed, cancelled or dead "
        "(dead letter: every attempt failed)."
    )
    attempt: int = Field(description="Attempt number, from 1.")
    max_attempts: int = Field(description="Attempts allowed before the job is dead.")
    progress: float
    params: dict[str, Any]
    counts: dict[str, Any]
    error: str | None = Field(description="The last attempt's error (English).")
    schedule_id: int | None
    schedule: str | None = Field(description="Name of the schedule that enqueued the job.")
    created_at: str
    started_at: str | None
    finished_at: str | None
    run_after: str | None = Field(description="When a queued or retrying job may run.")


class JobList(BaseModel):
    """One page of jobs, newest first."""

    number_matched: int = Field(description="Jobs matching the filters in total.")
    jobs: list[JobOut]


class ScheduleOut(BaseModel):
    """One recurring job."""

    id: int
    name: str
    kind: str
    params: dict[str, Any]
    cron: str = Field(description="Five-field cron expression, read in `timezone`.")
    timezone: str
    enabled: bool
    max_attempts: int
    backoff_seconds: int = Field(description="Wait before the first retry; doubled after.")
    next_run_at: str
    created_at: str
    updated_at: str


def job_out(record: JobRecord, *, timezone: str) -> JobOut:
    """The API form of a job, times in ``timezone``."""
    return JobOut(
        **{
            **record.as_dict(),
            "created_at": local_time(record.created_at, timezone),
            "started_at": local_time(record.started_at, timezone),
            "finished_at": local_time(record.finished_at, timezone),
            "run_after": local_time(record.run_after, timezone),
        }
    )


def schedule_out(record: ScheduleRecord, *, timezone: str) -> ScheduleOut:
    """The API form of a schedule, times in ``timezone``."""
    return ScheduleOut(
        **{
            **record.as_dict(),
            "next_run_at": local_time(record.next_run_at, timezone),
            "created_at": local_time(record.created_at, timezone),
            "updated_at": local_time(record.updated_at, timezone),
        }
    )
