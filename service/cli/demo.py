"""``skyground demo``: generate the demo county, import it, then serve the map and API."""

from __future__ import annotations

from typing import Annotated

import typer

from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.demo import generate_demo
from ingest.plots import PlotImportOptions, import_plots
from service.cli._common import handle_errors, help_text, output
from service.cli.plots import import_engine, progress_bar, show_summary
from service.cli.serve import serve

__all__ = ["demo"]


def demo(
    ctx: typer.Context,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help=help_text("cli_demo_serve"))
    ] = True,
    seed: Annotated[int, typer.Option(help=help_text("cli_demo_seed"))] = 7,
) -> None:
    """Load the generated demo county (villages and terraced tea plots), then serve it."""
    out = output(ctx)
    settings = out.settings
    folder = settings.db.home / "demo"
    with handle_errors(out):
        out.say("demo_generating", folder=folder)
        files = generate_demo(folder, seed=seed)
        area = settings.region.service_area
        results = []
        with import_engine(out) as engine:
            for level, path in (
                ("county", files.county),
                ("township", files.townships),
                ("village", files.villages),
            ):
                options = AdminImportOptions(
                    level=level, parent_code_field=None if level == "county" else "parent_code"
                )
                summary = import_admin_units(
                    engine=engine, path=path, options=options, service_area=area
                )
                results.append(summary.as_dict(out.lang))
                if not out.json_mode:
                    show_summary(out, summary)
            with progress_bar(out, files.plots.name) as progress:
                plots = import_plots(
                    engine=engine,
                    path=files.plots,
                    options=PlotImportOptions(),
                    service_area=area,
                    progress=progress,
                )
            results.append(plots.as_dict(out.lang))
            if not out.json_mode:
                show_summary(out, plots)
        out.say("demo_loaded", plots=plots.features)
    if serve_after:
        if out.json_mode:
            out.result({"imports": results})
        serve(ctx, host=None, port=None, workers=None)
    else:
        out.result({"imports": results})
