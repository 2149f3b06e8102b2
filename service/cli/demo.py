"""``skyground demo``: generate the demo county, import it, then serve the map and API.

With ``--imagery PATH`` (local Sentinel-2 scenes, e.g. the real Barbellino clips in
``tests/data/s2-l2a-barbellino-sen2r``) the demo also draws a few invented plots inside the
clip, imports them without the service-area check (they lie outside Anhua; the county's plots
keep the check) and runs the local satellite ingest on PATH, so the map shows real imagery.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.demo import clip_extent, generate_clip_plots, generate_demo
from ingest.plots import PlotImportOptions, import_plots
from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local
from service.cli._common import Output, handle_errors, help_text, output
from service.cli.ingest import say_scenes
from service.cli.plots import import_engine, progress_bar, show_summary
from service.cli.serve import serve

__all__ = ["demo"]

#: sen2r's scene keys (``S2A2A_20190723_022_Barbellino``): mission, level 2A, date, ….
_SEN2R_KEY = re.compile(r"^S2[AB]2A_\d{8}_")


def attribution(scenes: list[SceneResult]) -> str:
    """The credit the Copernicus licence asks for wherever the imagery is shown."""
    years = "/".join(sorted({s.acquired_at[:4] for s in scenes}))
    text = f"Contains modified Copernicus Sentinel data {years}"
    if scenes and all(_SEN2R_KEY.match(s.scene_key) for s in scenes):
        text += ", processed by sen2r"
    return text


def demo(
    ctx: typer.Context,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help=help_text("cli_demo_serve"))
    ] = True,
    seed: Annotated[int, typer.Option(help=help_text("cli_demo_seed"))] = 7,
    imagery: Annotated[
        Path | None, typer.Option("--imagery", help=help_text("cli_demo_imagery"))
    ] = None,
) -> None:
    """Load the generated demo county (villages and terraced tea plots), then serve it."""
    out = output(ctx)
    settings = out.settings
    folder = settings.db.home / "demo"
    summary: dict[str, Any] = {}
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
                admin = import_admin_units(
                    engine=engine, path=path, options=options, service_area=area
                )
                results.append(admin.as_dict(out.lang))
                if not out.json_mode:
                    show_summary(out, admin)
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
            summary["imports"] = results
            if imagery is not None:
                summary["imagery"] = _imagery(out, engine, folder, imagery, seed)
    if serve_after:
        if out.json_mode:
            out.result(summary)
        serve(ctx, host=None, port=None, workers=None)
    else:
        out.result(summary)


def _imagery(out: Output, engine: Any, folder: Path, imagery: Path, seed: int) -> dict[str, Any]:
    """Clip plots (no service-area check: they lie outside Anhua), then the local ingest."""
    bounds, crs = clip_extent([imagery])
    path = generate_clip_plots(folder, bounds_utm=bounds, crs=crs, seed=seed)
    with progress_bar(out, path.name) as progress:
        plots = import_plots(
            engine=engine,
            path=path,
            options=PlotImportOptions(),
            service_area=None,
            progress=progress,
        )
    if not out.json_mode:
        show_summary(out, plots)
    store = out.settings.db.raster_store
    with progress_bar(out, imagery.name) as progress:
        job_id, scenes = ingest_local(
            engine=engine,
            paths=[imagery],
            store=store,
            options=IngestOptions(lang=out.lang),
            progress=progress,
        )
    if not out.json_mode:
        say_scenes(out, job_id, scenes)
    days = ", ".join(s.acquired_at[:10] for s in scenes)
    credit = attribution(scenes)
    out.say(
        "demo_imagery_loaded",
        scenes=len(scenes),
        days=days,
        plots=plots.features,
        path=imagery,
        store=store,
        attribution=credit,
    )
    return {
        "plots": plots.as_dict(out.lang),
        "ingest": {"job_id": job_id, "scenes": [s.as_dict() for s in scenes]},
        "attribution": credit,
    }
