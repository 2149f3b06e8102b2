"""``skyground scheduler``: recurring jobs, their history and the dead-letter list.

A thin layer over :mod:`ingest.scheduler` (what runs, retries and backoff) and
:mod:`models.queries.jobs` (what is listed).
"""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ingest import scheduler
from models.db import engine_for, prepare_database
from models.queries.common import InvalidParameterValue
from models.queries.jobs import DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS, list_jobs
from models.queries.jobs import list_schedules as query_schedules
from models.tables import JOB_STATES
from models.units import local_time
from service.cli._common import Output, handle_errors, help_text, output

__all__ = ["app"]

app = typer.Typer(help=help_text("cli_scheduler"), no_args_is_help=True)

T = TypeVar("T")
KindHelp = help_text("cli_scheduler_opt_kind") + " (" + ", ".join(scheduler.kinds()) + ")"


@contextmanager
def _engine(out: Output) -> Iterator[Engine]:
    # Two connections: one holds the running job's lock, the job itself uses another.
    engine = engine_for(prepare_database(out.settings.db), pool_size=2, actor="scheduler")
    try:
        yield engine
    finally:
        engine.dispose()


def _run(out: Output, work: Callable[[Session], T]) -> T:
    with handle_errors(out), _engine(out) as engine, Session(engine) as session:
        with session.begin():
            return work(session)


def _shown(out: Output, moment: Any, *, short: bool = False) -> str:
    shown = local_time(moment, out.settings.region.timezone)
    if shown is None:
        return "—"
    # Short: local minutes without the offset ("2026-03-02 06:00"), for narrow tables.
    return shown[:16].replace("T", " ") if short else shown


@app.command("run", help=help_text("cli_scheduler_run"))
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help=help_text("cli_scheduler_once"))] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help=help_text("cli_scheduler_poll"))
    ] = 30.0,
) -> None:
    """Run due jobs: one round with --once, else every --poll seconds until stopped."""
    out = output(ctx)
    with handle_errors(out), _engine(out) as engine:
        if once:
            report = scheduler.tick(engine)
            counts = {name: len(ids) for name, ids in vars(report).items()}
            out.result(report.as_dict(), lambda: out.say("scheduler_tick", **counts))
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        out.say("scheduler_started", poll=poll)
        scheduler.run_forever(engine, poll, stop)
        out.say("scheduler_stopped")


def _params(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidParameterValue(name="--params", value=text, reason="@reason_params_object")
    return value


@app.command("add", help=help_text("cli_scheduler_add"))
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=help_text("cli_scheduler_opt_name"))],
    kind: Annotated[str, typer.Option("--kind", help=KindHelp)],
    cron: Annotated[str, typer.Option("--cron", help=help_text("cli_scheduler_opt_cron"))],
    params: Annotated[
        str | None, typer.Option("--params", help=help_text("cli_scheduler_opt_params"))
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help=help_text("cli_scheduler_opt_timezone"))
    ] = scheduler.DEFAULT_TIMEZONE,
    max_attempts: Annotated[
        int,
        typer.Option("--max-attempts", min=1, help=help_text("cli_scheduler_opt_max_attempts")),
    ] = DEFAULT_MAX_ATTEMPTS,
    backoff: Annotated[
        int, typer.Option("--backoff", min=0, help=help_text("cli_scheduler_opt_backoff"))
    ] = DEFAULT_BACKOFF_SECONDS,
) -> None:
    """Add a recurring job."""
    out = output(ctx)
    with handle_errors(out):
        values = _params(params)
    record = _run(
        out,
        lambda s: scheduler.add_schedule(
            session=s, name=name, kind=kind, cron=cron, params=values, timezone=timezone,
            max_attempts=max_attempts, backoff_seconds=backoff,
        ),
    )  # fmt: skip
    out.result(
        {"schedule": record.as_dict()},
        lambda: out.say(
            "scheduler_added",
            name=escape(record.name),
            kind=escape(record.kind),
            cron=escape(record.cron),
            timezone=record.timezone,
            next_run=_shown(out, record.next_run_at),
        ),
    )


@app.command("list", help=help_text("cli_scheduler_list"))
def list_command(ctx: typer.Context) -> None:
    """List schedules with their next run."""
    out = output(ctx)
    schedules = _run(out, lambda s: query_schedules(session=s))

    def render() -> None:
        columns = ("name", "kind", "cron", "next", "max_attempts", "on")
        table = Table(*(out.t(f"scheduler_col_{c}") for c in columns))
        for s in schedules:
            table.add_row(
                escape(s.name), escape(s.kind), escape(s.cron), _shown(out, s.next_run_at),
                str(s.max_attempts), "✓" if s.enabled else "✗",
            )  # fmt: skip
        out.console.print(table)

    out.result({"schedules": [s.as_dict() for s in schedules]}, render)


@app.command("jobs", help=help_text("cli_scheduler_jobs"))
def jobs(
    ctx: typer.Context,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help=help_text("cli_scheduler_opt_state") + f" ({', '.join(JOB_STATES)})"
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help=help_text("cli_scheduler_opt_kind_filter"))
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help=help_text("cli_scheduler_opt_limit"))
    ] = 50,
) -> None:
    """List jobs, newest first (history, retries, dead letters)."""
    out = output(ctx)
    page = _run(out, lambda s: list_jobs(session=s, state=state, kind=kind, limit=limit))

    def render() -> None:
        table = Table()
        # The whole id, always: people copy it into ``skyground scheduler retry``.
        table.add_column(out.t("scheduler_col_id"), no_wrap=True, min_width=36)
        for column in ("kind", "state", "attempt", "created", "error"):
            table.add_column(out.t(f"scheduler_col_{column}"), overflow="fold")
        for job in page.items:
            table.add_row(
                str(job.id), escape(job.kind), job.state, f"{job.attempt}/{job.max_attempts}",
                _shown(out, job.created_at, short=True), escape(job.error or ""),
            )  # fmt: skip
        out.console.print(table)

    out.result(
        {"jobs": [job.as_dict() for job in page.items], "number_matched": page.number_matched},
        render,
    )


@app.command("retry", help=help_text("cli_scheduler_retry"))
def retry(
    ctx: typer.Context,
    job_id: Annotated[uuid.UUID, typer.Argument(help=help_text("cli_scheduler_opt_job"))],
) -> None:
    """Queue a dead job again."""
    out = output(ctx)
    record = _run(out, lambda s: scheduler.retry_job(session=s, job_id=job_id))
    out.result({"job": record.as_dict()}, lambda: out.say("scheduler_requeued", job=record.id))
