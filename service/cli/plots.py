"""``skyground plots``: import plot boundaries from vector files.

Also holds what both import commands share (reading options, progress, summary output);
``service.cli.admin_units`` uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine

from ingest._fields import PLOT_FIELDS
from ingest.mapping import load_mapping
from ingest.plots import PlotImportOptions, import_plots
from ingest.summary import ImportSummary
from ingest.vectors import ReadOptions
from models.db import engine_for, prepare_database
from service.cli._common import Output, cli_actor, handle_errors, help_text, output

app = typer.Typer(help=help_text("cli_plots"))


class XyOrder(StrEnum):
    """Which CSV column comes first: the northing (Chinese surveying) or the easting."""

    north_east = "north-east"
    east_north = "east-north"


PathArg = Annotated[
    Path,
    typer.Argument(help=help_text("cli_import_path")),
]
LayerOpt = Annotated[str | None, typer.Option(help=help_text("cli_import_layer"))]
CrsOpt = Annotated[
    str | None,
    typer.Option(help=help_text("cli_import_crs")),
]
EncodingOpt = Annotated[str | None, typer.Option(help=help_text("cli_import_encoding"))]
Gcj02Opt = Annotated[bool, typer.Option("--gcj02", help=help_text("cli_import_gcj02"))]
MapOpt = Annotated[list[str] | None, typer.Option("--map", help=help_text("cli_import_map"))]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", help=help_text("cli_import_mapping"))]
XyOrderOpt = Annotated[
    XyOrder | None, typer.Option("--xy-order", help=help_text("cli_import_xy_order"))
]
NoAreaOpt = Annotated[
    bool, typer.Option("--no-area-check", help=help_text("cli_import_no_area_check"))
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=help_text("cli_import_dry_run"))]


def read_options(
    layer: str | None,
    crs: str | None,
    encoding: str | None,
    gcj02: bool,
    xy_order: XyOrder | None,
) -> ReadOptions:
    """ReadOptions from the shared command-line options."""
    return ReadOptions(
        layer=layer,
        crs=crs,
        encoding=encoding,
        gcj02=gcj02,
        xy_order=xy_order.value if xy_order is not None else None,
    )


@contextmanager
def import_engine(out: Output) -> Iterator[Engine]:
    """An engine on the configured (or embedded, started and migrated) database."""
    engine = engine_for(prepare_database(out.settings.db), pool_size=1, actor=cli_actor())
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def progress_bar(out: Output, source: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr for people; silent under ``--json``."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out.errors,
        transient=True,
        disable=out.json_mode,
    )
    task = bar.add_task(out.t("import_progress", source=source), total=None)

    def report(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield report


def show_summary(out: Output, summary: ImportSummary) -> None:
    """Print the summary: a table for people, one JSON document with ``--json``."""
    data = summary.as_dict(out.lang)

    def render() -> None:
        title_key = (
            "import_summary_plots" if summary.kind == "plots" else "import_summary_admin_units"
        )
        table = Table(title=out.t(title_key, source=summary.source), show_header=False)
        table.add_row(out.t("import_label_format"), summary.driver)
        if summary.layer:
            table.add_row(out.t("import_label_layer"), summary.layer)
        table.add_row(out.t("import_label_features"), str(summary.features))
        table.add_row(out.t("import_label_crs"), summary.source_crs)
        if summary.encoding:
            table.add_row(
                out.t("import_label_encoding"),
                f"{summary.encoding} ({out.t('import_origin_' + summary.encoding_origin)})",
            )
        counts = data["counts"]
        table.add_row(
            out.t("import_label_counts"),
            f"{counts['inserted']} / {counts['updated']} / {counts['unchanged']}"
            f" / {counts['retired']}",
        )
        table.add_row(
            out.t("import_label_area"),
            out.t("import_area_value", mu=data["area_mu"], ha=data["area_ha"]),
        )
        if summary.kind == "plots":
            label, figures = "import_label_villages", summary.villages
        else:
            label, figures = "import_label_parents", summary.parents
        table.add_row(out.t(label), " / ".join(str(n) for n in figures.values()))
        if summary.job_id:
            table.add_row(out.t("import_label_job"), summary.job_id)
        for note in data["notes"]:
            table.add_row(out.t("import_label_notes"), note["message"])
        out.console.print(table)
        if summary.dry_run:
            out.say("import_dry_run")

    out.result(data, render)


def run_import(
    out: Output,
    path: Path,
    importer: Callable[..., ImportSummary],
    options: object,
    *,
    no_area_check: bool,
) -> None:
    """Run one file import with the service-area rule, a progress bar and the summary."""
    area = None if no_area_check else out.settings.region.service_area
    with import_engine(out) as engine, progress_bar(out, path.name) as progress:
        summary = importer(
            engine=engine, path=path, options=options, service_area=area, progress=progress
        )
    show_summary(out, summary)


@app.command("import", help=help_text("cli_plots_import"))
def import_command(
    ctx: typer.Context,
    path: PathArg,
    layer: LayerOpt = None,
    crs: CrsOpt = None,
    encoding: EncodingOpt = None,
    gcj02: Gcj02Opt = False,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    xy_order: XyOrderOpt = None,
    no_area_check: NoAreaOpt = False,
    retire_missing: Annotated[
        bool, typer.Option("--retire-missing", help=help_text("cli_plots_import_retire_missing"))
    ] = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Import plots from a file (one transaction; re-running changes nothing)."""
    out = output(ctx)
    with handle_errors(out):
        options = PlotImportOptions(
            read=read_options(layer, crs, encoding, gcj02, xy_order),
            mapping=load_mapping(map_ or (), mapping, fields=PLOT_FIELDS),
            retire_missing=retire_missing,
            dry_run=dry_run,
        )
        run_import(out, path, import_plots, options, no_area_check=no_area_check)
