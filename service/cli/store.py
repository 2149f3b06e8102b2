"""``skyground store``: the raster store's usage by year, source and layer, and retention.

A thin layer over :mod:`ingest.store`. ``prune`` takes its months from ``--keep-months`` or
``SKYGROUND_STORE_RETENTION_MONTHS`` and refuses when neither is given; it is audited as the
command line (``cli:<os user>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from ingest.store import (
    InvalidRetention,
    PruneResult,
    RetentionNotSet,
    StoreUsage,
    prune_store,
    store_usage,
)
from service.cli._common import Output, cli_actor, handle_errors, help_text, output
from service.cli.plots import import_engine

__all__ = ["app"]

app = typer.Typer(help=help_text("cli_store"), no_args_is_help=True)

#: How many missing or orphan paths are listed for people (``--json`` lists all).
SHOWN_PATHS = 10

JsonOption = Annotated[bool, typer.Option("--json", help=help_text("cli_opt_json"))]


def _mib(size_bytes: int) -> str:
    return f"{size_bytes / 2**20:,.1f}"


def _say_paths(out: Output, paths: Sequence[str]) -> None:
    for path in paths[:SHOWN_PATHS]:
        # Paths are printed as they are: square brackets in a name are not rich markup.
        out.console.print(out.t("store_file_line", path=path), markup=False)
    if len(paths) > SHOWN_PATHS:
        out.say("store_more", count=len(paths) - SHOWN_PATHS)


def _render_usage(out: Output, usage: StoreUsage) -> None:
    if not usage.rows:
        out.say("store_empty", root=str(out.settings.db.raster_store))
    else:
        columns = ("year", "source", "layer", "files", "mib")
        table = Table(*(out.t(f"store_col_{c}") for c in columns))
        for column in table.columns[3:]:
            column.justify = "right"
        for r in usage.rows:
            table.add_row(str(r.year), r.source, r.kind, str(r.files), _mib(r.size_bytes))
        table.add_section()
        table.add_row(out.t("store_total"), "", "", str(usage.files), _mib(usage.size_bytes))
        out.console.print(table)
    if usage.orphans:
        out.say("store_orphans", files=len(usage.orphans), mib=_mib(usage.orphan_bytes))
        _say_paths(out, [o.path for o in usage.orphans])
    if usage.missing:
        out.say("store_missing", files=len(usage.missing))
        _say_paths(out, [m.path for m in usage.missing])


@app.command("usage", help=help_text("cli_store_usage"))
def usage(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Bytes and files by acquisition year, source and layer; missing and orphan files."""
    out = output(ctx)
    out.json_mode = out.json_mode or json_output
    with handle_errors(out), import_engine(out) as engine, Session(engine) as session:
        report = store_usage(session, out.settings.db.raster_store)
    out.result(report.as_dict(), lambda: _render_usage(out, report))


def _render_prune(out: Output, result: PruneResult) -> None:
    key = "store_prune_dry_run" if result.dry_run else "store_prune_done"
    out.say(
        key,
        rows=result.rows,
        files=result.files,
        mib=_mib(result.size_bytes),
        scenes=result.scenes,
        cutoff=result.cutoff.date().isoformat(),
    )
    if result.outside:
        out.say("store_prune_outside", count=result.outside)
    if result.orphans:
        orphan_bytes = sum(o.size_bytes for o in result.orphans)
        out.say("store_orphans", files=len(result.orphans), mib=_mib(orphan_bytes))
        _say_paths(out, [o.path for o in result.orphans])


@app.command("prune", help=help_text("cli_store_prune"))
def prune(
    ctx: typer.Context,
    keep_months: Annotated[
        int | None, typer.Option("--keep-months", help=help_text("cli_store_opt_keep_months"))
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=help_text("cli_store_opt_dry_run"))
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Remove the COGs of scenes older than the retention; keep scenes and statistics."""
    out = output(ctx)
    out.json_mode = out.json_mode or json_output
    months = keep_months if keep_months is not None else out.settings.store.retention_months
    actor = cli_actor()
    with handle_errors(out):
        # Refuse before the database is started or reached.
        if months is None:
            raise RetentionNotSet()
        if months < 1:
            raise InvalidRetention(value=months)
        with import_engine(out) as engine, Session(engine) as session:
            result = prune_store(
                session,
                out.settings.db.raster_store,
                keep_months=months,
                now=datetime.now(UTC),
                actor=actor,
                dry_run=dry_run,
            )
    out.result(result.as_dict(), lambda: _render_prune(out, result))
