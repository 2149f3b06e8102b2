"""``skyground ingest``: imagery ingest (local Sentinel-2 scenes for now)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from ingest.satellite.executor import DaskExecutor
from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local
from ingest.satellite.read import SEN2R_BOA_BANDS
from ingest.satellite.sources.sentinelhub import SentinelHubReport, ingest_sentinelhub
from ingest.satellite.sources.settings import StacSettings
from ingest.satellite.sources.stac import FetchReport, ingest_stac
from models.errors import InvalidParameter
from service.cli._common import Output, handle_errors, help_text, output
from service.cli._stac_area import StacRequest, resolve_area
from service.cli.plots import import_engine, progress_bar

app = typer.Typer(help=help_text("cli_ingest"), no_args_is_help=True)


class Source(StrEnum):
    """Where the scenes come from."""

    local = "local"
    stac = "stac"
    sentinelhub = "sentinelhub"


def _band_map(text: str | None) -> dict[str, int]:
    if not text:
        return dict(SEN2R_BOA_BANDS)
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    if len(set(names)) != len(names):
        raise InvalidParameter(name="--band-map", reason=text)
    return {name: number for number, name in enumerate(names, start=1)}


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidParameter(name="--date", reason=text) from None


def say_scenes(out: Output, job_id: str, results: list[SceneResult]) -> None:
    """For people: the job and one line per ingested scene (warnings on stderr)."""
    out.say("ingest_satellite_summary", job=job_id)
    for r in results:
        clear = "—" if r.clear_fraction is None else f"{r.clear_fraction:.2f}"
        out.say(
            "ingest_satellite_scene_line",
            scene=r.scene_key,
            date=r.acquired_at[:10],
            indices=", ".join(r.indices),
            plots=r.plots_with_stats,
            flagged=r.flagged,
            clear=clear,
            radiometry=out.t(str(r.radiometry["reason"]), **r.radiometry.get("params", {})),
        )
        for note in r.warnings:
            out.errors.print(f"[yellow]![/] {note}", markup=True)


def _show(out: Output, job_id: str, results: list[SceneResult]) -> None:
    data = {"job_id": job_id, "scenes": [r.as_dict() for r in results]}
    out.result(data, lambda: say_scenes(out, job_id, results))


@app.command("satellite", help=help_text("cli_ingest_satellite"))
def satellite(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(help=help_text("cli_ingest_paths"))] = None,
    source: Annotated[
        Source, typer.Option("--source", help=help_text("cli_ingest_source"))
    ] = Source.local,
    band_map: Annotated[
        str | None, typer.Option("--band-map", help=help_text("cli_ingest_band_map"))
    ] = None,
    day: Annotated[str | None, typer.Option("--date", help=help_text("cli_ingest_date"))] = None,
    orbit: Annotated[
        int | None, typer.Option("--orbit", help=help_text("cli_ingest_orbit"))
    ] = None,
    boa_offset: Annotated[
        float | None, typer.Option("--boa-offset", help=help_text("cli_ingest_boa_offset"))
    ] = None,
    indices: Annotated[
        str | None, typer.Option("--indices", help=help_text("cli_ingest_indices"))
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", envvar="SKYGROUND_DASK_SCHEDULER", help=help_text("cli_ingest_scheduler")
        ),
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", help=help_text("cli_ingest_stac_area"))
    ] = None,
    plots: Annotated[
        bool, typer.Option("--plots", help=help_text("cli_ingest_stac_plots"))
    ] = False,
    admin_unit: Annotated[
        str | None, typer.Option("--admin-unit", help=help_text("cli_ingest_stac_admin_unit"))
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help=help_text("cli_ingest_stac_start"))
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help=help_text("cli_ingest_stac_end"))] = None,
    max_cloud: Annotated[
        float | None,
        typer.Option("--max-cloud", min=0, max=100, help=help_text("cli_ingest_stac_max_cloud")),
    ] = None,
    stac_url: Annotated[
        str | None, typer.Option("--stac-url", help=help_text("cli_ingest_stac_url"))
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help=help_text("cli_ingest_stac_collection"))
    ] = None,
) -> None:
    """Ingest local scenes: COGs in the raster store, statistics in the database."""
    out = output(ctx)
    with handle_errors(out):
        options = IngestOptions(
            source=source.value,
            band_map=_band_map(band_map),
            day=_day(day),
            orbit=orbit,
            boa_offset=boa_offset,
            lang=out.lang,
            indices=tuple(n.strip() for n in indices.split(",") if n.strip()) if indices else None,
        )
        executor = DaskExecutor(scheduler) if scheduler else None
        store = out.settings.db.raster_store
        if source is Source.stac:
            request = StacRequest(area, plots, admin_unit, start, end, max_cloud)
            _stac(out, options, request, stac_url, collection, executor)
            return
        if source is Source.sentinelhub:
            request = StacRequest(area, plots, admin_unit, start, end, max_cloud)
            _sentinelhub(out, options, request, executor)
            return
        if not paths:
            raise InvalidParameter(name="PATHS", reason="—")
        label = ", ".join(p.name for p in paths)
        with import_engine(out) as engine, progress_bar(out, label) as progress:
            job_id, results = ingest_local(
                engine=engine,
                paths=paths,
                store=store,
                options=options,
                progress=progress,
                executor=executor,
            )
        _show(out, job_id, results)


def _fetch_and_ingest(out: Output, request: StacRequest, label: str, fetch: Any) -> Any:
    """Resolve the area and dates, then run a remote source's ``fetch`` under a progress bar.

    ``fetch`` is ``ingest_stac`` or ``ingest_sentinelhub`` with its source's own arguments
    bound; it returns (job id, scene results, the source's report).
    """
    begin, finish = request.dates()
    with import_engine(out) as engine:
        bbox = resolve_area(engine, request)
        with progress_bar(out, label) as progress:
            return fetch(
                engine=engine,
                bbox=bbox,
                start=begin,
                end=finish,
                home=out.settings.db.home,
                store=out.settings.db.raster_store,
                max_cloud_pct=request.max_cloud,
                progress=progress,
            )


def _stac(
    out: Output,
    options: IngestOptions,
    request: StacRequest,
    stac_url: str | None,
    collection: str | None,
    executor: DaskExecutor | None,
) -> None:
    overrides = {k: v for k, v in (("url", stac_url), ("collection", collection)) if v}
    settings = StacSettings(**overrides)  # type: ignore[arg-type]
    fetch = partial(ingest_stac, options=options, settings=settings, executor=executor)
    job_id, results, report = _fetch_and_ingest(out, request, settings.collection, fetch)
    _show_stac(out, job_id, results, report)


def _show_stac(
    out: Output, job_id: str | None, results: list[SceneResult], report: FetchReport
) -> None:
    data = {"job_id": job_id, "stac": report.as_dict(), "scenes": [r.as_dict() for r in results]}

    def render() -> None:
        out.say(
            "stac_summary",
            found=report.found,
            acquisitions=report.acquisitions,
            folders=len(report.folders),
            rejected=len(report.rejected),
            downloaded=len(report.downloaded),
        )
        for rejected in report.rejected:
            out.errors.print(f"[yellow]![/] {rejected['item']}: {rejected['reason']}", markup=True)
        if job_id is not None:
            say_scenes(out, job_id, results)

    out.result(data, render)


def _sentinelhub(
    out: Output, options: IngestOptions, request: StacRequest, executor: DaskExecutor | None
) -> None:
    fetch = partial(ingest_sentinelhub, options=options, executor=executor)
    job_id, results, report = _fetch_and_ingest(out, request, "sentinelhub", fetch)
    _show_sentinelhub(out, job_id, results, report)


def _show_sentinelhub(
    out: Output, job_id: str | None, results: list[SceneResult], report: SentinelHubReport
) -> None:
    data = {
        "job_id": job_id,
        "sentinelhub": report.as_dict(),
        "scenes": [r.as_dict() for r in results],
    }

    def render() -> None:
        out.say(
            "sentinelhub_summary",
            found=report.found,
            dates=len(report.dates),
            requests=report.process_requests,
            rate_limited=report.rate_limited,
            refreshes=report.token_refreshes,
        )
        if job_id is not None:
            say_scenes(out, job_id, results)

    out.result(data, render)
