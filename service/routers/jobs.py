"""``/api/jobs`` and ``/api/schedules``: job history, retries, dead letters (operators).

Read-only: schedules are added and dead jobs queued again with ``skyground scheduler``.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from models.auth import Permission
from models.queries.jobs import get_job, list_jobs, list_schedules
from service.auth import require
from service.deps import SessionDep, SettingsDep
from service.routers._common import (
    ERROR_RESPONSES,
    PagingQuery,
    language_query,
    not_found,
    page_window,
)
from service.schemas.jobs import JobList, JobOut, ScheduleOut, job_out, schedule_out

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["jobs"], dependencies=[Depends(language_query)])
_jobs_read = [Depends(require(Permission.JOBS_READ))]


@router.get(
    "/jobs", summary="Jobs, newest first", dependencies=_jobs_read, responses=ERROR_RESPONSES
)
def jobs(
    session: SessionDep,
    settings: SettingsDep,
    paging: Annotated[PagingQuery, Depends()],
    state: Annotated[
        str | None,
        Query(
            max_length=16,
            description="Only jobs in this state: queued, running, retrying, succeeded, failed, "
            "cancelled or dead (the dead-letter list).",
        ),
    ] = None,
    kind: Annotated[
        str | None, Query(max_length=64, description="Only jobs of this kind, e.g. noop.")
    ] = None,
) -> JobList:
    """Every job (imports, ingests, scheduled runs) with attempts, counts and last error."""
    limit, offset = page_window(paging, settings)
    page = list_jobs(session=session, state=state, kind=kind, limit=limit, offset=offset)
    timezone = settings.region.timezone
    return JobList(
        number_matched=page.number_matched,
        jobs=[job_out(record, timezone=timezone) for record in page.items],
    )


@router.get(
    "/jobs/{job_id}",
    summary="One job",
    dependencies=_jobs_read,
    responses=not_found("No job has this id."),
)
def job(job_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> JobOut:
    """One job by id."""
    return job_out(get_job(session=session, job_id=job_id), timezone=settings.region.timezone)


@router.get(
    "/schedules",
    summary="Recurring jobs",
    dependencies=_jobs_read,
    responses=ERROR_RESPONSES,
)
def schedules(session: SessionDep, settings: SettingsDep) -> list[ScheduleOut]:
    """Every schedule, by name, with its next run."""
    timezone = settings.region.timezone
    return [schedule_out(s, timezone=timezone) for s in list_schedules(session=session)]
