"""``/api/plots/{id}/indices`` (JSON or CSV) and ``/api/scenes``."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import csv
import io
import json
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from models.queries import BBox
from models.queries.common import MAX_BIGINT
from models.queries.series import (
    list_scenes,
    local_day_bounds,
    plot_index_series,
    plot_index_series_json,
)
from service.auth import UnitIdsDep
from service.deps import LangDep, SessionDep, SettingsDep
from service.routers._common import (
    ERROR_RESPONSES,
    GeoJSONResponse,
    PagingQuery,
    collection_links,
    language_query,
    not_found,
    page_window,
)
from service.schemas.series import (
    CSV_COLUMNS,
    IndexSeries,
    SceneCollection,
    observation_out,
    scene_feature,
)

__all__ = ["router"]

router = APIRouter(prefix="/api", dependencies=[Depends(language_query)])

IndexName = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z][A-Za-z0-9]{1,15}$",
        description="Index name, e.g. NDVI, EVI, NDRE (case-insensitive).",
    ),
]
StartDate = Annotated[date | None, Query(description="First local day (YYYY-MM-DD), inclusive.")]
EndDate = Annotated[date | None, Query(description="Last local day (YYYY-MM-DD), inclusive.")]


@router.get(
    "/plots/{plot_id}/indices",
    tags=["plots"],
    response_model=IndexSeries,
    summary="Index time series of a plot (JSON or CSV)",
    responses={
        **not_found("No plot has this id."),
        200: {"content": {"application/json": {}, "text/csv": {}}},
    },
)
def plot_indices(
    session: SessionDep,
    settings: SettingsDep,
    plot_id: Annotated[int, Path(ge=1, le=MAX_BIGINT, description="Plot id.")],
    index: IndexName,
    start: StartDate = None,
    end: EndDate = None,
    include_flagged: Annotated[
        bool, Query(description="Also return observations flagged as untrustworthy.")
    ] = False,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: UTF-8 with BOM, for Excel.")
    ] = "json",
    units: UnitIdsDep = None,
) -> Response:
    """Statistics per acquisition, oldest first; flagged ones only on request."""
    timezone = settings.region.timezone
    since, until = local_day_bounds(start, end, timezone)
    name = index.upper()
    if format == "json":
        # The observations come as JSON text from PostgreSQL (see plot_index_series_json);
        # the document has the shape of IndexSeries.
        code, observations = plot_index_series_json(
            session=session,
            plot_id=plot_id,
            index=name,
            timezone=timezone,
            start=since,
            end=until,
            include_flagged=include_flagged,
            units=units,
        )
        head = json.dumps(
            {"plot_id": plot_id, "code": code, "index": name},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return Response(
            content=f'{head[:-1]},"observations":{observations}}}',
            media_type="application/json",
        )
    code, records = plot_index_series(
        session=session,
        plot_id=plot_id,
        index=name,
        start=since,
        end=until,
        include_flagged=include_flagged,
        units=units,
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        data = observation_out(record, timezone=timezone).model_dump()
        data.update(plot_id=plot_id, code=code, index=name)
        writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
    filename = f"plot-{code}-{name}.csv"
    return Response(
        content="\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="plot-{plot_id}-{name}.csv"; '
            f"filename*=UTF-8''{quote(filename)}"
        },
    )


@router.get(
    "/scenes",
    tags=["scenes"],
    response_model=SceneCollection,
    response_class=GeoJSONResponse,
    summary="Scenes with their date, clear fraction and footprint",
    responses=ERROR_RESPONSES,
)
def scenes(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    paging: Annotated[PagingQuery, Depends()],
    start: StartDate = None,
    end: EndDate = None,
    source: Annotated[
        str | None, Query(max_length=32, description="Only scenes of this source.")
    ] = None,
    bbox: Annotated[
        str | None,
        Query(max_length=200, description="west,south,east,north in degrees (EPSG:4326)."),
    ] = None,
) -> GeoJSONResponse:
    """Scene footprints as GeoJSON, newest first."""
    limit, offset = page_window(paging, settings)
    since, until = local_day_bounds(start, end, settings.region.timezone)
    page = list_scenes(
        session=session,
        start=since,
        end=until,
        source=source,
        bbox=BBox.parse(bbox) if bbox is not None else None,
        limit=limit,
        offset=offset,
    )
    body = SceneCollection(
        numberMatched=page.number_matched,
        numberReturned=len(page.items),
        links=collection_links(request, page, lang=lang),
        features=[scene_feature(r, timezone=settings.region.timezone) for r in page.items],
    )
    return GeoJSONResponse(body)
