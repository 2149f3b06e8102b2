"""The scheduler on a real PostGIS: enqueue once, retry with backoff, dead letters, the CLI."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ingest import scheduler
from models.errors import Conflict, NotFound
from models.queries.common import InvalidParameterValue
from models.queries.jobs import get_job, list_jobs
from tests.ingest.conftest import CliRun, json_of

#: 06:00 on 2 March 2026 in Asia/Shanghai.
NOW = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
DAILY = "0 6 * * *"


class Kind:
    """A test job kind that counts its calls and fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0, sleep_s: float = 0.0) -> None:
        self.failures = failures
        self.sleep_s = sleep_s
        self.calls: list[uuid.UUID] = []
        self.lock = threading.Lock()

    def __call__(self, engine: Engine, params: dict[str, Any], job_id: uuid.UUID) -> dict[str, Any]:
        with self.lock:
            self.calls.append(job_id)
            n = len(self.calls)
        time.sleep(self.sleep_s)
        if n <= self.failures:
            raise RuntimeError(f"boom {n}")
        return {"scenes": 1, "area": params.get("area")}


@pytest.fixture()
def kind() -> Iterator[Kind]:
    func = Kind()
    scheduler.register("test.kind", func)
    yield func
    scheduler.unregister("test.kind")


def add(engine: Engine, name: str = "daily", **options: Any) -> None:
    """A schedule whose first run is NOW."""
    options.setdefault("kind", "test.kind")
    options.setdefault("cron", DAILY)
    with Session(engine) as session, session.begin():
        scheduler.add_schedule(session=session, name=name, now=NOW - timedelta(hours=1), **options)


def jobs(engine: Engine, **filters: Any) -> list[Any]:
    with Session(engine) as session:
        return list_jobs(session=session, **filters).items


def next_run_at(engine: Engine, name: str = "daily") -> datetime:
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT next_run_at FROM schedules WHERE name = :n"), {"n": name}
        ).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_next_run_is_read_on_the_shanghai_clock():
    assert scheduler.next_run(DAILY, "Asia/Shanghai", NOW - timedelta(hours=1)) == NOW
    assert scheduler.next_run(DAILY, "Asia/Shanghai", NOW) == NOW + timedelta(days=1)
    assert scheduler.next_run(DAILY, "UTC", NOW) == datetime(2026, 3, 2, 6, tzinfo=UTC)


def test_a_due_schedule_enqueues_one_job_and_moves_to_the_next_day(db: Engine, kind: Kind):
    add(db, params={"area": "anhua"})
    first = scheduler.tick(db, NOW)
    again = scheduler.tick(db, NOW + timedelta(minutes=1))
    assert len(first.enqueued) == 1 and first.succeeded == first.enqueued
    assert again.enqueued == [] and again.succeeded == []
    [job] = jobs(db)
    assert job.state == "succeeded" and job.attempt == 1 and job.schedule == "daily"
    assert job.counts == {"scenes": 1, "area": "anhua"}
    assert job.params == {"area": "anhua"} and job.error is None
    assert kind.calls == [job.id]
    assert next_run_at(db) == NOW + timedelta(days=1)


def test_a_schedule_not_yet_due_enqueues_nothing(db: Engine, kind: Kind):
    add(db)
    assert scheduler.tick(db, NOW - timedelta(seconds=1)).enqueued == []
    assert jobs(db) == [] and kind.calls == []


def test_two_schedulers_at_once_enqueue_and_run_the_job_once(db: Engine, kind: Kind):
    kind.sleep_s = 0.3
    add(db)
    start = threading.Barrier(2)
    reports: list[scheduler.TickReport] = []

    def run() -> None:
        start.wait()
        reports.append(scheduler.tick(db, NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(reports) == 2
    assert sum(len(r.enqueued) for r in reports) == 1
    assert sum(len(r.succeeded) for r in reports) == 1
    assert len(jobs(db)) == 1 and len(kind.calls) == 1


def test_a_failing_job_retries_with_doubling_backoff_then_goes_dead(db: Engine, kind: Kind):
    kind.failures = 99
    add(db, max_attempts=3, backoff_seconds=60)
    report = scheduler.tick(db, NOW)
    [job] = jobs(db)
    assert report.retrying == [job.id]
    assert (job.state, job.attempt, job.run_after) == ("retrying", 2, NOW + timedelta(seconds=60))
    assert job.error == "RuntimeError: boom 1"
    # Not before run_after.
    assert scheduler.tick(db, NOW + timedelta(seconds=59)).retrying == []
    scheduler.tick(db, NOW + timedelta(seconds=60))
    [job] = jobs(db)
    assert (job.state, job.attempt) == ("retrying", 3)
    assert job.run_after == NOW + timedelta(seconds=60 + 120)
    report = scheduler.tick(db, NOW + timedelta(seconds=180))
    [job] = jobs(db, state="dead")
    assert report.dead == [job.id]
    assert job.attempt == job.max_attempts == 3
    assert job.error == "RuntimeError: boom 3"
    assert job.finished_at == NOW + timedelta(seconds=180)
    # The dead letter stays dead.
    assert scheduler.tick(db, NOW + timedelta(hours=1)).dead == []
    assert len(kind.calls) == 3


def test_a_job_that_fails_once_succeeds_on_its_retry(db: Engine, kind: Kind):
    kind.failures = 1
    add(db, backoff_seconds=10)
    scheduler.tick(db, NOW)
    scheduler.tick(db, NOW + timedelta(seconds=10))
    [job] = jobs(db)
    assert (job.state, job.attempt, job.error) == ("succeeded", 2, None)
    assert job.counts["scenes"] == 1


def test_retry_queues_a_dead_job_again_and_only_a_dead_one(db: Engine, kind: Kind):
    kind.failures = 1
    add(db, max_attempts=1)
    scheduler.tick(db, NOW)
    [job] = jobs(db, state="dead")
    with Session(db) as session, session.begin():
        queued = scheduler.retry_job(session=session, job_id=job.id, now=NOW)
    assert (queued.state, queued.attempt) == ("queued", 1)
    assert queued.error == "RuntimeError: boom 1"  # kept until the job runs again
    scheduler.tick(db, NOW)
    with Session(db) as session:
        assert get_job(session=session, job_id=job.id).state == "succeeded"
        with pytest.raises(scheduler.JobNotDead):
            scheduler.retry_job(session=session, job_id=job.id)
        with pytest.raises(NotFound):
            scheduler.retry_job(session=session, job_id=uuid.uuid4())


def test_a_job_of_an_unknown_kind_goes_dead_naming_the_kind(db: Engine):
    with db.begin() as conn:
        conn.execute(
            text("INSERT INTO jobs (kind, state, run_after) VALUES ('nope', 'queued', :t)"),
            {"t": NOW},
        )
    scheduler.tick(db, NOW)
    [job] = jobs(db)
    assert job.state == "retrying" and "nope" in (job.error or "")
    assert job.max_attempts == 3  # the default of a job without a schedule


def test_a_running_job_whose_scheduler_died_counts_as_a_failed_attempt(db: Engine):
    with db.begin() as conn:
        orphan, alive = (
            conn.execute(
                text(
                    "INSERT INTO jobs (kind, state, run_after) VALUES ('noop', 'running', :t)"
                    " RETURNING id"
                ),
                {"t": NOW},
            ).scalar_one()
            for _ in range(2)
        )
        # An import command's own row (no run_after) is never the scheduler's.
        conn.execute(text("INSERT INTO jobs (kind, state) VALUES ('plots.import', 'running')"))
    with db.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": scheduler._lock_key(alive)})
        holder.commit()
        report = scheduler.tick(db, NOW)
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": scheduler._lock_key(alive)})
        holder.commit()
    assert report.orphaned == report.retrying == [orphan]
    by_id = {job.id: job for job in jobs(db)}
    assert (by_id[orphan].state, by_id[orphan].attempt) == ("retrying", 2)
    assert "interrupted" in (by_id[orphan].error or "")
    assert by_id[alive].state == "running"
    assert [job.state for job in jobs(db, kind="plots.import")] == ["running"]


def test_schedules_are_checked_before_they_are_stored(db: Engine, kind: Kind):
    for options in (
        {"cron": "0 6 * *"},
        {"cron": "0 6 * * * *"},  # seconds are not ours
        {"cron": "61 6 * * *"},
        {"kind": "no.such.kind"},
        {"timezone": "Mars/Olympus"},
        {"max_attempts": 0},
        {"backoff_seconds": -1},
    ):
        with pytest.raises(InvalidParameterValue):
            add(db, name="bad", **options)
    add(db)
    with pytest.raises(Conflict):
        add(db)
    assert "satellite.search_ingest" in scheduler.kinds()


def test_the_cli_adds_lists_runs_and_requeues(cli: CliRun, db: Engine):
    added = cli("--json", "scheduler", "add", "health", "--kind", "noop", "--cron", "*/5 * * * *",
                "--params", '{"area": "anhua"}', "--max-attempts", "2")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json_of(added)["schedule"]["max_attempts"] == 2
    listed = cli("--json", "scheduler", "list")
    assert [s["name"] for s in json_of(listed)["schedules"]] == ["health"]
    bad = cli("scheduler", "add", "x", "--kind", "noop", "--cron", "every day")
    assert bad.exit_code == 1 and "cron" in bad.output
    assert cli("--json", "scheduler", "run", "--once").exit_code == 0
    with db.begin() as conn:
        dead = conn.execute(
            text("INSERT INTO jobs (kind, state, error) VALUES ('noop', 'dead', 'x') RETURNING id")
        ).scalar_one()
    shown = cli("--json", "scheduler", "jobs", "--state", "dead")
    assert [j["id"] for j in json_of(shown)["jobs"]] == [str(dead)]
    assert cli("scheduler", "retry", str(dead)).exit_code == 0
    again = cli("scheduler", "retry", str(dead))
    assert again.exit_code == 1 and "dead" in again.output
    ran = cli("--json", "scheduler", "run", "--once")
    assert json.loads(ran.stdout)["succeeded"] == [str(dead)]
    assert cli("scheduler", "jobs").exit_code == 0
