"""``skyground demo``: generate the demo county, import it, then serve the map and API.

With ``--imagery PATH`` (local Sentinel-2 scenes, e.g. the real Barbellino clips in
``tests/data/s2-l2a-barbellino-sen2r``) the demo also draws a few invented plots inside the
clip, imports them without the service-area check (they lie outside Anhua; the county's plots
keep the check) and runs the local satellite ingest on PATH, so the map shows real imagery.

With ``--seasonal`` (the default) it also writes a year of generated Sentinel-2-like scenes
over the county (:mod:`ingest.demo_scenes`: seasonal tea NDVI, a couple of cloudy dates) to
``SKYGROUND_HOME/demo/scenes`` and ingests them the same way, so every county plot gets a
time series. Those scenes are simulated and credited as such, never as Copernicus data.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.demo import clip_extent, generate_clip_plots, generate_demo
from ingest.demo_scenes import SCENE_PREFIX, cloudy_dates, generate_demo_scenes
from ingest.plots import PlotImportOptions, import_plots
from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local
from models.auth.demo import ensure_demo_users
from models.i18n import t
from service.cli._common import Output, handle_errors, help_text, output
from service.cli.ingest import say_scenes
from service.cli.plots import import_engine, progress_bar, show_summary
from service.cli.serve import serve

__all__ = ["demo"]

#: sen2r's scene keys (``S2A2A_20190723_022_Barbellino``): mission, level 2A, date, ….
_SEN2R_KEY = re.compile(r"^S2[AB]2A_\d{8}_")


def attribution(scenes: list[SceneResult], lang: str = "en") -> str:
    """The credit of each kind of imagery shown.

    Real scenes get the credit the Copernicus licence asks for (in English, as the licence
    words it); scenes :mod:`ingest.demo_scenes` generated (keys starting with
    :data:`~ingest.demo_scenes.SCENE_PREFIX`) are said to be simulated, in ``lang``.
    """
    generated = [s for s in scenes if s.scene_key.startswith(SCENE_PREFIX)]
    real = [s for s in scenes if not s.scene_key.startswith(SCENE_PREFIX)]
    parts = []
    if real:
        text = f"Contains modified Copernicus Sentinel data {_years(real)}"
        if all(_SEN2R_KEY.match(s.scene_key) for s in real):
            text += ", processed by sen2r"
        parts.append(text)
    if generated:
        parts.append(t("demo_scenes_attribution", lang, years=_years(generated)))
    return "; ".join(parts)


def _years(scenes: list[SceneResult]) -> str:
    return "/".join(sorted({s.acquired_at[:4] for s in scenes}))


def demo(
    ctx: typer.Context,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help=help_text("cli_demo_serve"))
    ] = True,
    seed: Annotated[int, typer.Option(help=help_text("cli_demo_seed"))] = 7,
    imagery: Annotated[
        Path | None, typer.Option("--imagery", help=help_text("cli_demo_imagery"))
    ] = None,
    seasonal: Annotated[
        bool, typer.Option("--seasonal/--no-seasonal", help=help_text("cli_demo_seasonal"))
    ] = True,
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
            summary["logins"] = _logins(out, engine, folder)
            if seasonal:
                summary["seasonal"] = _seasonal(out, engine, folder, files.plots, seed)
            if imagery is not None:
                summary["imagery"] = _imagery(out, engine, folder, imagery, seed)
    if serve_after:
        if out.json_mode:
            out.result(summary)
        serve(ctx, host=None, port=None, workers=None)
    else:
        out.result(summary)


def _logins(out: Output, engine: Any, folder: Path) -> list[dict[str, Any]]:
    """One demo user per role (kept across runs); the table of how to log in."""
    minimum = out.settings.auth.min_password_length
    with Session(engine) as session, session.begin():
        logins = ensure_demo_users(session, folder / "logins.json", min_password_length=minimum)
    if not out.json_mode:
        table = Table(*(out.t(f"users_col_{c}") for c in ("name", "role", "scope")))
        table.add_column(out.t("users_prompt_password"))
        for login in logins:
            scope = login.scope or out.t("users_scope_all")
            table.add_row(login.username, login.role, scope, login.password)
        api = out.settings.api
        url = f"http://{api.host}:{api.port}"
        out.say("demo_logins", path=folder / "logins.json", url=url)
        out.console.print(table)
    return [asdict(login) for login in logins]


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
    credit = attribution(scenes, out.lang)
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


def _seasonal(out: Output, engine: Any, folder: Path, plots: Path, seed: int) -> dict[str, Any]:
    """Generated scenes of 2025 over the county's plots, then the same local ingest."""
    scenes_folder = folder / "scenes"
    out.say("demo_scenes_generating", folder=scenes_folder)
    paths = generate_demo_scenes(scenes_folder, plots=plots, seed=seed)
    store = out.settings.db.raster_store
    with progress_bar(out, scenes_folder.name) as progress:
        job_id, scenes = ingest_local(
            engine=engine,
            paths=paths,
            store=store,
            options=IngestOptions(lang=out.lang),
            progress=progress,
        )
    if not out.json_mode:
        say_scenes(out, job_id, scenes)
    days = [s.acquired_at[:10] for s in scenes]
    cloudy = cloudy_dates([date.fromisoformat(d) for d in days], seed)
    credit = attribution(scenes, out.lang)
    out.say(
        "demo_scenes_loaded",
        scenes=len(scenes),
        first=days[0],
        last=days[-1],
        cloudy=", ".join(d.isoformat() for d in cloudy) or "—",
        flagged=sum(s.flagged for s in scenes),
        store=store,
        attribution=credit,
    )
    return {
        "folder": str(scenes_folder),
        "ingest": {"job_id": job_id, "scenes": [s.as_dict() for s in scenes]},
        "attribution": credit,
    }
