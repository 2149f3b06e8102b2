"""``skyground ingest``: imagery ingest (local Sentinel-2 scenes for now)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local
from ingest.satellite.read import SEN2R_BOA_BANDS
from models.errors import InvalidParameter
from service.cli._common import Output, handle_errors, help_text, output
from service.cli.plots import import_engine, progress_bar

app = typer.Typer(help=help_text("cli_ingest"), no_args_is_help=True)


class Source(StrEnum):
    """Where the scenes come from."""

    local = "local"


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
    paths: Annotated[list[Path], typer.Argument(help=help_text("cli_ingest_paths"))],
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
        store = out.settings.db.raster_store
        label = ", ".join(p.name for p in paths)
        with import_engine(out) as engine, progress_bar(out, label) as progress:
            job_id, results = ingest_local(
                engine=engine, paths=paths, store=store, options=options, progress=progress
            )
        _show(out, job_id, results)
