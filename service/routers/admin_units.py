"""``/api/admin-units``: county, township and village boundaries as GeoJSON (EPSG:4326)."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from models.queries import check_text, get_admin_unit, list_admin_units
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
    AdminUnitCollection,
    AdminUnitItem,
    admin_unit_feature,
    collection_json,
    feature_json,
)

__all__ = ["AdminUnitFilters", "router"]

router = APIRouter(
    prefix="/api/admin-units", tags=["admin units"], dependencies=[Depends(language_query)]
)


@dataclass
class AdminUnitFilters:
    """Filters of the admin-unit listing; all given filters must hold."""

    level: Annotated[
        Literal["county", "township", "village"] | None,
        Query(description="Only units of this level."),
    ] = None
    parent: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Code of a unit: only its direct children. An unknown code matches "
            "nothing.",
        ),
    ] = None

    def __post_init__(self) -> None:
        check_text("parent", self.parent)


@dataclass
class GeometryQuery:
    """Whether boundaries are sent."""

    geometry: Annotated[
        bool,
        Query(description="Send boundaries; false gives null geometries (a lighter list)."),
    ] = True


@router.get(
    "",
    response_model=AdminUnitCollection,
    response_class=GeoJSONResponse,
    summary="List admin units",
    responses=ERROR_RESPONSES,
)
def list_admin_units_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    filters: Annotated[AdminUnitFilters, Depends()],
    shape: Annotated[GeometryQuery, Depends()],
    paging: Annotated[PagingQuery, Depends()],
    units: UnitIdsDep,
) -> GeoJSONResponse:
    """Admin units ordered by code, one page at a time, with numberMatched and links."""
    limit, offset = page_window(paging, settings)
    page = list_admin_units(
        session=session,
        limit=limit,
        offset=offset,
        level=filters.level,
        parent=filters.parent,
        with_geometry=shape.geometry,
        units=units,
    )
    body = collection_json(
        [admin_unit_feature(record, lang=lang) for record in page.items],
        number_matched=page.number_matched,
        links=collection_links(request, page, lang=lang),
    )
    return GeoJSONResponse(body)


@router.get(
    "/{code}",
    response_model=AdminUnitItem,
    response_class=GeoJSONResponse,
    summary="One admin unit",
    responses=not_found("No admin unit has this code."),
)
def get_admin_unit_endpoint(
    request: Request,
    session: SessionDep,
    lang: LangDep,
    code: Annotated[str, Path(max_length=32, description="Official code of the unit.")],
    shape: Annotated[GeometryQuery, Depends()],
    units: UnitIdsDep,
) -> GeoJSONResponse:
    """One admin unit as a GeoJSON Feature."""
    record = get_admin_unit(session=session, code=code, with_geometry=shape.geometry, units=units)
    feature = admin_unit_feature(record, lang=lang)
    links = item_links(request, str(request.url_for("list_admin_units_endpoint")), lang=lang)
    return GeoJSONResponse(feature_json(feature, links=links))
