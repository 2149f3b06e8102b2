"""Recurring jobs: a cron-like table of schedules, job history, retries and a dead-letter state.

``schedules`` rows say what to run (a job *kind* with JSON ``params``) and when (five-field
cron in a time zone, Asia/Shanghai by default). :func:`tick` does one round:

1. jobs left ``running`` by a scheduler that died count as a failed attempt;
2. each enabled schedule whose ``next_run_at`` has come enqueues one ``queued`` job and moves
   ``next_run_at`` to the cron's next time after now (runs missed while nothing ticked are
   coalesced into that one job);
3. every ``queued`` or ``retrying`` job whose ``run_after`` has come runs: success →
   ``succeeded`` with the counts the kind returned; failure → ``retrying`` with
   ``run_after = now + backoff_seconds × 2^(attempt − 1)`` and ``attempt + 1``, or ``dead``
   (the dead-letter state) once ``attempt`` reached ``max_attempts``. The error is kept.

Schedules and jobs are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, so any number of
schedulers (``skyground scheduler run`` on several hosts) never enqueue or run one job twice.
While a job runs, its scheduler holds a session advisory lock named after the job; a
``running`` job whose lock nobody holds was orphaned. Jobs the scheduler runs are those with
``run_after`` set; import and ingest commands record their own rows without it.

Kinds are functions ``func(engine, params, job_id) -> counts`` registered with
:func:`register`; they raise on failure. ``noop`` is built in (tests, health checks). A kind
whose module is named in :data:`KIND_MODULES` is imported on first use, so that module
registers itself: ``satellite.search_ingest`` (params ``{"area": [w, s, e, n]}``,
``{"admin_unit": …}`` or ``{"plots": true}``, see ``SearchIngestParams``) comes from
``ingest.satellite.sources.job``, which calls ``register("satellite.search_ingest",
search_ingest)`` at import.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.errors import Conflict, NotFound, SkyGroundError
from models.queries.common import InvalidParameterValue, check_text
from models.queries.jobs import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    JobRecord,
    ScheduleRecord,
    get_job,
    list_schedules,
)
from models.tables import Job, Schedule

__all__ = [
    "DEFAULT_TIMEZONE",
    "KIND_MODULES",
    "JobFunc",
    "JobNotDead",
    "TickReport",
    "add_schedule",
    "backoff_delay",
    "job_kind",
    "kinds",
    "next_run",
    "register",
    "retry_job",
    "run_forever",
    "tick",
    "unregister",
]

log = logging.getLogger("skyground.scheduler")

#: ``func(engine, params, job_id) -> counts``; raises on failure.
JobFunc = Callable[[Engine, dict[str, Any], uuid.UUID], Mapping[str, Any]]

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
#: Kinds registered by the module named here when it is first imported.
KIND_MODULES: Final[dict[str, str]] = {
    "satellite.search_ingest": "ingest.satellite.sources.job",
    "db.cluster_statistics": "ingest.maintenance",
}
_RUNNABLE: Final = ("queued", "retrying")
_KINDS: dict[str, JobFunc] = {}


class JobNotDead(SkyGroundError):
    """Only a dead job (every attempt failed) can be queued again by hand."""

    key = "scheduler_job_not_dead"
    client_error = True


def register(kind: str, func: JobFunc, *, replace: bool = False) -> None:
    """Make ``kind`` runnable by the scheduler; a second registration needs ``replace``."""
    if kind in _KINDS and not replace and _KINDS[kind] is not func:
        raise ValueError(f"job kind {kind!r} is registered already")
    _KINDS[kind] = func


def unregister(kind: str) -> None:
    """Forget ``kind`` (tests)."""
    _KINDS.pop(kind, None)


def kinds() -> list[str]:
    """Every kind a schedule may name: registered ones and those of :data:`KIND_MODULES`."""
    return sorted(set(_KINDS) | set(KIND_MODULES))


def job_kind(kind: str) -> JobFunc:
    """The function of ``kind``, importing its module first when :data:`KIND_MODULES` names it.

    Raises:
        InvalidParameterValue: no such kind (or its module is not installed yet).
    """
    if kind not in _KINDS and kind in KIND_MODULES:
        try:
            importlib.import_module(KIND_MODULES[kind])
        except ImportError:
            log.warning("module %s of job kind %s cannot be imported", KIND_MODULES[kind], kind)
    if kind not in _KINDS:
        raise InvalidParameterValue(
            name="kind", value=kind, reason="@reason_job_kind", known=", ".join(kinds())
        )
    return _KINDS[kind]


def _noop(engine: Engine, params: dict[str, Any], job_id: uuid.UUID) -> dict[str, Any]:
    """Do nothing and succeed (the scheduler's own check)."""
    return {"noop": 1}


register("noop", _noop)


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time after ``after`` that ``cron`` names on ``timezone``'s clock, in UTC.

    Raises:
        InvalidParameterValue: ``cron`` is not five valid fields, or ``timezone`` is unknown.
    """
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidParameterValue(name="cron", value=cron, reason="@reason_cron")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterValue(
            name="timezone", value=timezone, reason="@reason_timezone"
        ) from None
    following = croniter(cron, after.astimezone(zone)).get_next(datetime)
    assert isinstance(following, datetime)
    return following.astimezone(UTC)


def backoff_delay(backoff_seconds: int, attempt: int) -> timedelta:
    """Wait after failed ``attempt`` (from 1): ``backoff_seconds`` × 2^(attempt − 1)."""
    return timedelta(seconds=backoff_seconds * 2 ** (attempt - 1))


def add_schedule(
    *,
    session: Session,
    name: str,
    kind: str,
    cron: str,
    params: dict[str, Any] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_seconds: int = DEFAULT_BACKOFF_SECONDS,
    now: datetime | None = None,
) -> ScheduleRecord:
    """Add a schedule; its first run is the cron's next time after ``now``.

    Raises:
        InvalidParameterValue: bad name, kind, cron, time zone or numbers.
        Conflict: a schedule of that name exists.
    """
    if not 1 <= len(name) <= 64 or check_text("name", name) != name.strip():
        raise InvalidParameterValue(name="name", value=name, reason="@reason_schedule_name")
    job_kind(kind)
    if max_attempts < 1:
        raise InvalidParameterValue(
            name="max_attempts", value=max_attempts, reason="@reason_positive"
        )
    if backoff_seconds < 0:
        raise InvalidParameterValue(
            name="backoff_seconds", value=backoff_seconds, reason="@reason_not_negative"
        )
    first = next_run(cron, timezone, now or datetime.now(UTC))
    try:
        with session.begin_nested():
            session.execute(
                insert(Schedule).values(
                    name=name, kind=kind, params=params or {}, cron=cron, timezone=timezone,
                    max_attempts=max_attempts, backoff_seconds=backoff_seconds,
                    next_run_at=first,
                )
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(detail=f"schedule {name}") from None
    return next(s for s in list_schedules(session=session) if s.name == name)


def retry_job(*, session: Session, job_id: uuid.UUID, now: datetime | None = None) -> JobRecord:
    """Queue a dead job again, with a fresh set of attempts; its last error stays until it runs.

    Raises:
        NotFound: no such job.
        JobNotDead: the job is not in the dead-letter state.
    """
    state = session.execute(
        select(Job.state).where(Job.id == job_id).with_for_update()
    ).scalar_one_or_none()
    if state is None:
        raise NotFound(kind="@kind_job", ident=str(job_id))
    if state != "dead":
        raise JobNotDead(job=str(job_id), state=state)
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(state="queued", attempt=1, run_after=now or datetime.now(UTC), finished_at=None)
    )
    return get_job(session=session, job_id=job_id)


@dataclass
class TickReport:
    """What one :func:`tick` did: jobs enqueued, and job ids by the state they ended in."""

    enqueued: list[uuid.UUID] = field(default_factory=list)
    succeeded: list[uuid.UUID] = field(default_factory=list)
    retrying: list[uuid.UUID] = field(default_factory=list)
    dead: list[uuid.UUID] = field(default_factory=list)
    orphaned: list[uuid.UUID] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """Ids as text, by list."""
        return {name: [str(i) for i in ids] for name, ids in vars(self).items()}


def tick(engine: Engine, now: datetime | None = None) -> TickReport:
    """One scheduler round at ``now`` (default: the clock): recover, enqueue, run what is due."""
    now = now or datetime.now(UTC)
    report = TickReport()
    _recover_orphans(engine, now, report)
    _enqueue_due(engine, now, report)
    while _run_one(engine, now, report):
        pass
    return report


def run_forever(engine: Engine, poll_seconds: float, stop_event: threading.Event) -> None:
    """Tick every ``poll_seconds`` until ``stop_event`` is set; a failed round is logged."""
    while not stop_event.is_set():
        try:
            tick(engine)
        except Exception:
            log.exception("scheduler round failed; trying again in %s s", poll_seconds)
        stop_event.wait(poll_seconds)


def _lock_key(job_id: uuid.UUID) -> int:
    # The id's first 64 bits as a signed bigint: the advisory lock held while the job runs.
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


def _enqueue_due(engine: Engine, now: datetime, report: TickReport) -> None:
    with engine.begin() as conn:
        due = conn.execute(
            select(Schedule.id, Schedule.kind, Schedule.params, Schedule.cron, Schedule.timezone)
            .where(Schedule.enabled, Schedule.next_run_at <= now)
            .order_by(Schedule.next_run_at)
            .with_for_update(skip_locked=True)
        ).all()
        for schedule_id, kind, params, cron, timezone in due:
            job_id = conn.execute(
                insert(Job)
                .values(kind=kind, params=params, schedule_id=schedule_id, state="queued",
                        run_after=now)
                .returning(Job.id)
            ).scalar_one()  # fmt: skip
            conn.execute(
                update(Schedule)
                .where(Schedule.id == schedule_id)
                .values(next_run_at=next_run(cron, timezone, now), updated_at=func.now())
            )
            report.enqueued.append(job_id)


def _attempts_of(conn: Connection, schedule_id: int | None) -> tuple[int, int]:
    row = conn.execute(
        select(Schedule.max_attempts, Schedule.backoff_seconds).where(Schedule.id == schedule_id)
    ).first()
    return (row[0], row[1]) if row else (DEFAULT_MAX_ATTEMPTS, DEFAULT_BACKOFF_SECONDS)


def _fail(
    conn: Connection, job_id: uuid.UUID, error: str, now: datetime, report: TickReport
) -> None:
    """Record a failed attempt: retrying with backoff, or dead after the last attempt."""
    attempt, schedule_id = conn.execute(
        select(Job.attempt, Job.schedule_id).where(Job.id == job_id)
    ).one()
    max_attempts, backoff_seconds = _attempts_of(conn, schedule_id)
    if attempt < max_attempts:
        values: dict[str, Any] = {
            "state": "retrying",
            "attempt": attempt + 1,
            "run_after": now + backoff_delay(backoff_seconds, attempt),
        }
        report.retrying.append(job_id)
    else:
        values = {"state": "dead", "finished_at": now}
        report.dead.append(job_id)
    conn.execute(update(Job).where(Job.id == job_id).values(error=error[:4000], **values))
    log.warning("job %s attempt %s failed: %s", job_id, attempt, error)


def _recover_orphans(engine: Engine, now: datetime, report: TickReport) -> None:
    with engine.begin() as conn:
        running = conn.execute(
            select(Job.id)
            .where(Job.state == "running", Job.run_after.is_not(None))
            .with_for_update(skip_locked=True)
        ).scalars()
        for job_id in list(running):
            key = _lock_key(job_id)
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                continue  # its scheduler is still running it
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            _fail(conn, job_id, "interrupted: the scheduler running it stopped", now, report)
            report.orphaned.append(job_id)


def _run_one(engine: Engine, now: datetime, report: TickReport) -> bool:
    """Claim one due job, run it and record the outcome; False when none is due."""
    with engine.connect() as conn:
        with conn.begin():
            row = conn.execute(
                select(Job.id, Job.kind, Job.params)
                .where(Job.state.in_(_RUNNABLE), Job.run_after <= now)
                .order_by(Job.run_after, Job.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return False
            job_id, kind, params = row
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_key(job_id)})
            conn.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(state="running", started_at=now, finished_at=None, progress=0)
            )
        try:
            try:
                counts = dict(job_kind(kind)(engine, dict(params), job_id))
                error = None
            except Exception as exc:  # a job's failure of any kind is recorded, not raised
                error = (
                    exc.message("en")
                    if isinstance(exc, SkyGroundError)
                    else f"{type(exc).__name__}: {exc}"
                )
            with conn.begin():
                if error is None:
                    conn.execute(
                        update(Job)
                        .where(Job.id == job_id)
                        .values(state="succeeded", counts=_jsonable(counts), progress=1.0,
                                error=None, finished_at=now)
                    )  # fmt: skip
                    report.succeeded.append(job_id)
                else:
                    _fail(conn, job_id, error, now, report)
        finally:
            # After the outcome is committed, so no other scheduler takes the job for orphaned.
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(job_id)})
            conn.commit()
    return True


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    loaded = json.loads(json.dumps(counts, default=str))
    assert isinstance(loaded, dict)
    return loaded
