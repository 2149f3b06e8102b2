"""``skyground db``: the embedded cluster's life and the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from models.cluster import EmbeddedCluster
from models.db import (
    backup,
    current_revision,
    database_url,
    engine_for,
    prepare_database,
    prepared_revision,
    restore,
)
from models.errors import InvalidParameter, RestoreTargetNotEmpty
from service.cli._common import handle_errors, help_text, output

app = typer.Typer(help=help_text("cli_db"))


@app.command(help=help_text("cli_db_start"))
def start(ctx: typer.Context) -> None:
    """Start the embedded PostGIS cluster (init on first use) and migrate it."""
    out = output(ctx)
    settings = out.settings.db
    with handle_errors(out):
        if not settings.embedded:
            prepare_database(settings)
            out.say("db_external")
            out.result({"embedded": False, "migrated": True})
            return
        cluster = EmbeddedCluster(settings)
        started = cluster.start()
        prepare_database(settings)
        where = f"127.0.0.1:{cluster.port} ({cluster.data_dir})"
        out.say("db_started" if started else "db_already_running", where=where)
        out.result({"embedded": True, "started": started, **cluster.status().as_dict()})


@app.command(help=help_text("cli_db_stop"))
def stop(ctx: typer.Context) -> None:
    """Stop the embedded cluster."""
    out = output(ctx)
    with handle_errors(out):
        if not out.settings.db.embedded:
            out.say("db_external")
            out.result({"embedded": False, "stopped": False})
            return
        stopped = EmbeddedCluster(out.settings.db).stop()
        out.say("db_stopped" if stopped else "db_not_running")
        out.result({"embedded": True, "stopped": stopped})


@app.command(help=help_text("cli_db_status"))
def status(ctx: typer.Context) -> None:
    """Show whether the database runs, where, and its schema revision."""
    out = output(ctx)
    settings = out.settings.db
    with handle_errors(out):
        info: dict[str, object] = {"embedded": settings.embedded}
        running = True
        if settings.embedded:
            state = EmbeddedCluster(settings).status()
            info.update(state.as_dict())
            running = state.running
        if running:
            engine = engine_for(database_url(settings), pool_size=1)
            try:
                info["revision"] = current_revision(engine)
            finally:
                engine.dispose()

        def render() -> None:
            table = Table(show_header=False)
            for key, value in info.items():
                table.add_row(key, str(value))
            out.console.print(table)

        out.result(info, render)
        if not running:
            raise typer.Exit(code=3)


@app.command(help=help_text("cli_db_migrate"))
def migrate(ctx: typer.Context) -> None:
    """Create PostGIS if needed and apply every migration."""
    out = output(ctx)
    with handle_errors(out):
        revision = prepared_revision(out.settings.db)
        out.say("db_migrated", revision=revision)
        out.result({"revision": revision})


@app.command(help=help_text("cli_db_url"))
def url(ctx: typer.Context) -> None:
    """Print the database URL (contains the password: keep it private)."""
    out = output(ctx)
    with handle_errors(out):
        value = database_url(out.settings.db)
        out.result({"url": value}, lambda: out.console.print(value, markup=False, soft_wrap=True))


@app.command("cluster-statistics", help=help_text("cli_db_cluster_statistics"))
def cluster_statistics(
    ctx: typer.Context,
    year: Annotated[
        int | None, typer.Option(help=help_text("cli_db_cluster_statistics_year"))
    ] = None,
) -> None:
    """Rewrite a closed year's statistics in key order (default: last year)."""
    from datetime import UTC, datetime

    from ingest.maintenance import cluster_year

    out = output(ctx)
    with handle_errors(out):
        engine = engine_for(prepare_database(out.settings.db), pool_size=1)
        try:
            done = cluster_year(engine, year if year is not None else datetime.now(UTC).year - 1)
        finally:
            engine.dispose()
        out.say("db_statistics_clustered", **done)
        out.result(done)


@app.command("backup", help=help_text("cli_db_backup"))
def backup_command(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help=help_text("cli_db_backup_target"))],
) -> None:
    """Dump the whole database to a file."""
    out = output(ctx)
    with handle_errors(out):
        size = backup(out.settings.db, target)
        out.say("db_backup_written", path=target, size=size)
        out.result({"path": str(target), "size_bytes": size})


@app.command("restore", help=help_text("cli_db_restore"))
def restore_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help=help_text("cli_db_restore_source"))],
    force: Annotated[bool, typer.Option(help=help_text("cli_db_restore_force"))] = False,
) -> None:
    """Replace the database with a backup."""
    out = output(ctx)
    with handle_errors(out):
        if not source.is_file():
            raise InvalidParameter(name="source", reason=out.t("db_file_missing", path=source))
        if not force:
            _refuse_if_not_empty(out.settings.db)
        restore(out.settings.db, source)
        out.say("db_restored", path=source)
        out.result({"restored": str(source)})


def _refuse_if_not_empty(settings: object) -> None:
    from sqlalchemy import text

    from models.settings import DatabaseSettings

    assert isinstance(settings, DatabaseSettings)
    engine = engine_for(prepare_database(settings), pool_size=1)
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM plots")).scalar_one()
    finally:
        engine.dispose()
    if count:
        raise RestoreTargetNotEmpty(count=count)
