"""``/api/plots``: plots as GeoJSON (EPSG:4326), paged and filtered like OGC API Features."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from models.queries import BBox, check_text, get_plot, list_plots
from models.queries.common import MAX_BIGINT
from service.auth import UnitIdsDep
from service.deps import LangDep, SessionDep, SettingsDep
from service.routers._common import (
    ERROR_RESPONSES,
    GeoJSONResponse,
    PagingQuery,
    collection_links,
    item_links,
    language_query,
    not_found,
    page_window,
)
from service.schemas import (
    PlotCollection,
    PlotItem,
    collection_json,
    feature_json,
    plot_feature,
)

__all__ = ["PlotFilters", "router"]

router = APIRouter(prefix="/api/plots", tags=["plots"], dependencies=[Depends(language_query)])


@dataclass
class PlotFilters:
    """Filters of the plot listing; all given filters must hold."""

    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="west,south,east,north in degrees (EPSG:4326): plots whose boundary "
            "intersects the box.",
            examples=["111.1,28.3,111.3,28.5"],
        ),
    ] = None
    village: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Admin-unit code: plots in that village, or in any village of that "
            "township or county (follows the parent chain). An unknown code matches nothing.",
        ),
    ] = None
    cooperative: Annotated[
        str | None, Query(max_length=200, description="Exact cooperative name.")
    ] = None
    code: Annotated[str | None, Query(max_length=64, description="Exact plot code.")] = None
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Case-insensitive text in the plot's name or code; % and _ match "
            "themselves.",
            examples=["茶园"],
        ),
    ] = None
    include_retired: Annotated[
        bool, Query(description="Also list retired plots (default: only current ones).")
    ] = False

    def __post_init__(self) -> None:
        for name in ("bbox", "village", "cooperative", "code", "q"):
            check_text(name, getattr(self, name))

    def parsed_bbox(self) -> BBox | None:
        """The box, validated; None when no bbox was given."""
        return None if self.bbox is None else BBox.parse(self.bbox)


@router.get(
    "",
    response_model=PlotCollection,
    response_class=GeoJSONResponse,
    summary="List plots",
    responses=ERROR_RESPONSES,
)
def list_plots_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    filters: Annotated[PlotFilters, Depends()],
    paging: Annotated[PagingQuery, Depends()],
    units: UnitIdsDep,
) -> GeoJSONResponse:
    """Plots ordered by id, one page at a time, with numberMatched and next/prev links."""
    limit, offset = page_window(paging, settings)
    page = list_plots(
        session=session,
        limit=limit,
        offset=offset,
        bbox=filters.parsed_bbox(),
        village=filters.village,
        cooperative=filters.cooperative,
        code=filters.code,
        q=filters.q,
        include_retired=filters.include_retired,
        units=units,
    )
    timezone = settings.region.timezone
    body = collection_json(
        [plot_feature(record, timezone=timezone) for record in page.items],
        number_matched=page.number_matched,
        links=collection_links(request, page, lang=lang),
    )
    return GeoJSONResponse(body)


@router.get(
    "/{plot_id}",
    response_model=PlotItem,
    response_class=GeoJSONResponse,
    summary="One plot",
    responses=not_found("No plot has this id."),
)
def get_plot_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    plot_id: Annotated[int, Path(ge=1, le=MAX_BIGINT, description="Plot id.")],
    units: UnitIdsDep,
) -> GeoJSONResponse:
    """One plot (retired ones too) as a GeoJSON Feature."""
    record = get_plot(session=session, plot_id=plot_id, units=units)
    feature = plot_feature(record, timezone=settings.region.timezone)
    links = item_links(request, str(request.url_for("list_plots_endpoint")), lang=lang)
    return GeoJSONResponse(feature_json(feature, links=links))
