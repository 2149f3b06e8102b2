"""``/ogc``: OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) for QGIS and GDAL.

Two collections, ``plots`` (current plots; feature id = plot id) and ``admin_units``
(feature id = official code), in CRS84 (EPSG:4326 longitude, latitude). Each caller sees
only what their scope holds, as in ``/api``. Choices where the standard leaves them open:

* ``limit`` above ``SKYGROUND_API_MAX_PAGE_SIZE`` is clamped to it (the standard allows
  this; GDAL and QGIS ask for large pages and would fail on a 400); the ``next`` link
  carries the limit used.
* ``datetime`` is accepted and ignored: neither collection has a temporal extent.
* ``f=json`` (or ``geojson``) is accepted; JSON is the only encoding.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.i18n import t
from models.queries import (
    BBox,
    Page,
    check_text,
    get_admin_unit,
    get_plot,
    list_admin_units,
    list_plots,
)
from models.queries.common import MAX_BIGINT
from models.queries.spatial import Extent as ExtentBox
from models.queries.spatial import admin_unit_extent, plot_extent
from models.settings import Settings
from service.auth import UnitIdsDep
from service.deps import LangDep, SessionDep, SettingsDep
from service.routers._common import (
    GeoJSONResponse,
    collection_links,
    item_links,
    language_query,
    not_found,
)
from service.schemas import (
    GEOJSON_MEDIA_TYPE,
    AdminUnitCollection,
    AdminUnitItem,
    Link,
    PlotCollection,
    PlotItem,
    RawFeature,
    admin_unit_feature,
    collection_json,
    feature_json,
    plot_feature,
)
from service.schemas.ogc import (
    CONFORMANCE_CLASSES,
    JSON_MEDIA_TYPE,
    OPENAPI_MEDIA_TYPE,
    Collection,
    Collections,
    Conformance,
    Extent,
    LandingPage,
    SpatialExtent,
)

__all__ = ["COLLECTION_IDS", "OgcItemsQuery", "router"]


def format_query(
    f: Annotated[
        Literal["json", "geojson"] | None,
        Query(description="Encoding; JSON (GeoJSON for features) is the only one."),
    ] = None,
) -> None:
    """Document ``f``: every answer is JSON whatever it says."""


router = APIRouter(
    prefix="/ogc",
    tags=["OGC API - Features"],
    dependencies=[Depends(language_query), Depends(format_query)],
)


class _JSON(JSONResponse):
    """A pydantic document as JSON, leaving out members that are None."""

    def render(self, content: object) -> bytes:
        if isinstance(content, BaseModel):
            return content.model_dump_json(exclude_none=True).encode("utf-8")
        return super().render(content)


@dataclass
class OgcItemsQuery:
    """Parameters of ``/ogc/collections/{collectionId}/items``."""

    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Features per page (default SKYGROUND_API_DEFAULT_PAGE_SIZE, 100); "
            "values above SKYGROUND_API_MAX_PAGE_SIZE (1000) are clamped to it.",
        ),
    ] = None
    offset: Annotated[
        int, Query(ge=0, le=MAX_BIGINT, description="Features to skip before this page.")
    ] = 0
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="west,south,east,north in CRS84 degrees: features whose geometry "
            "intersects the box.",
            examples=["111.1,28.3,111.3,28.5"],
        ),
    ] = None
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            max_length=100,
            description="Accepted and ignored: plots and admin units carry no time.",
        ),
    ] = None

    def __post_init__(self) -> None:
        check_text("bbox", self.bbox)
        check_text("datetime", self.datetime_)

    def window(self, settings: Settings) -> tuple[int, int]:
        """``(limit, offset)`` with the default filled in and the limit clamped."""
        limit = settings.api.default_page_size if self.limit is None else self.limit
        return min(limit, settings.api.max_page_size), self.offset

    def parsed_bbox(self) -> BBox | None:
        """The box, validated (400 naming ``bbox``); None when not given."""
        return None if self.bbox is None else BBox.parse(self.bbox)


@dataclass(frozen=True)
class _Request:
    """What a collection needs to answer: the session, the caller's scope and language."""

    session: Session
    units: frozenset[int] | None
    lang: str
    timezone: str


def _plot_page(ctx: _Request, limit: int, offset: int, bbox: BBox | None) -> Page[RawFeature]:
    page = list_plots(session=ctx.session, limit=limit, offset=offset, bbox=bbox, units=ctx.units)
    items = [plot_feature(record, timezone=ctx.timezone) for record in page.items]
    return Page(items=items, number_matched=page.number_matched, limit=limit, offset=offset)


def _plot(ctx: _Request, feature_id: str) -> RawFeature:
    # Plot ids are positive bigints; any other id names no plot.
    digits = feature_id.isascii() and feature_id.isdigit()
    if not digits or not 1 <= int(feature_id) <= MAX_BIGINT:
        raise NotFound(kind="@kind_plot", ident=feature_id)
    record = get_plot(session=ctx.session, plot_id=int(feature_id), units=ctx.units)
    return plot_feature(record, timezone=ctx.timezone)


def _unit_page(ctx: _Request, limit: int, offset: int, bbox: BBox | None) -> Page[RawFeature]:
    page = list_admin_units(
        session=ctx.session, limit=limit, offset=offset, bbox=bbox, units=ctx.units
    )
    items = [admin_unit_feature(record, lang=ctx.lang) for record in page.items]
    return Page(items=items, number_matched=page.number_matched, limit=limit, offset=offset)


def _unit(ctx: _Request, feature_id: str) -> RawFeature:
    record = get_admin_unit(session=ctx.session, code=feature_id, units=ctx.units)
    return admin_unit_feature(record, lang=ctx.lang)


def _plot_box(ctx: _Request) -> ExtentBox | None:
    return plot_extent(session=ctx.session, units=ctx.units)


def _unit_box(ctx: _Request) -> ExtentBox | None:
    return admin_unit_extent(session=ctx.session, units=ctx.units)


@dataclass(frozen=True)
class _Source:
    """How to read one collection; its texts are ``ogc_<id>_title`` and ``ogc_<id>_description``."""

    page: Callable[[_Request, int, int, BBox | None], Page[RawFeature]]
    one: Callable[[_Request, str], RawFeature]
    extent: Callable[[_Request], ExtentBox | None]


_SOURCES: Final = {
    "plots": _Source(_plot_page, _plot, _plot_box),
    "admin_units": _Source(_unit_page, _unit, _unit_box),
}
#: Collection ids, in the order ``/ogc/collections`` lists them.
COLLECTION_IDS: Final = tuple(_SOURCES)

CollectionId = Annotated[
    str,
    Path(max_length=64, description="Collection id: plots or admin_units."),
]


def _source(collection_id: str) -> _Source:
    source = _SOURCES.get(collection_id)
    if source is None:
        raise NotFound(kind="@kind_collection", ident=collection_id)
    return source


def _context(
    session: SessionDep, settings: SettingsDep, lang: LangDep, units: UnitIdsDep
) -> _Request:
    return _Request(session, units, lang, settings.region.timezone)


ContextDep = Annotated[_Request, Depends(_context)]


def _link(request: Request, route: str, rel: str, title_key: str, lang: str, **path: str) -> Link:
    media = GEOJSON_MEDIA_TYPE if route in {"ogc_items", "ogc_item"} else JSON_MEDIA_TYPE
    return Link(
        href=str(request.url_for(route, **path)), rel=rel, type=media, title=t(title_key, lang)
    )


def _self_link(request: Request, lang: str) -> Link:
    return Link(href=str(request.url), rel="self", type=JSON_MEDIA_TYPE, title=t("link_self", lang))


def _collection(request: Request, ctx: _Request, collection_id: str) -> Collection:
    source = _source(collection_id)
    box = source.extent(ctx)
    return Collection(
        id=collection_id,
        title=t(f"ogc_{collection_id}_title", ctx.lang),
        description=t(f"ogc_{collection_id}_description", ctx.lang),
        extent=None if box is None else Extent(spatial=SpatialExtent(bbox=[list(box)])),
        links=[
            _link(
                request, "ogc_collection", "self", "link_self", ctx.lang, collectionId=collection_id
            ),
            _link(
                request,
                "ogc_items",
                "items",
                "ogc_link_items",
                ctx.lang,
                collectionId=collection_id,
            ),
        ],
    )


@router.get("", response_model=LandingPage, response_class=_JSON, summary="Landing page")
def ogc_landing(request: Request, lang: LangDep) -> _JSON:
    """Title and links to the API description, the conformance classes and the collections."""
    service_desc = Link(
        href=str(request.url_for("openapi")),
        rel="service-desc",
        type=OPENAPI_MEDIA_TYPE,
        title=t("ogc_link_service_desc", lang),
    )
    page = LandingPage(
        title=t("ogc_title", lang),
        description=t("ogc_description", lang),
        links=[
            _self_link(request, lang),
            service_desc,
            _link(request, "ogc_conformance", "conformance", "ogc_link_conformance", lang),
            _link(request, "ogc_collections", "data", "ogc_link_data", lang),
        ],
    )
    return _JSON(page)


@router.get("/conformance", response_model=Conformance, response_class=_JSON, summary="Conformance")
def ogc_conformance() -> _JSON:
    """The OGC API - Features Part 1 classes implemented: core, geojson, oas30."""
    return _JSON(Conformance(conformsTo=list(CONFORMANCE_CLASSES)))


@router.get("/collections", response_model=Collections, response_class=_JSON, summary="Collections")
def ogc_collections(request: Request, ctx: ContextDep) -> _JSON:
    """Both collections, each with the extent of what the caller may see."""
    collections = [_collection(request, ctx, cid) for cid in COLLECTION_IDS]
    return _JSON(Collections(links=[_self_link(request, ctx.lang)], collections=collections))


@router.get(
    "/collections/{collectionId}",
    response_model=Collection,
    response_class=_JSON,
    summary="One collection",
    responses=not_found("No collection has this id."),
)
def ogc_collection(
    request: Request,
    ctx: ContextDep,
    collectionId: CollectionId,
) -> _JSON:
    """One collection's title, extent (CRS84) and items link."""
    return _JSON(_collection(request, ctx, collectionId))


@router.get(
    "/collections/{collectionId}/items",
    response_model=PlotCollection | AdminUnitCollection,
    response_class=GeoJSONResponse,
    summary="Features of a collection",
    responses=not_found("No collection has this id."),
)
def ogc_items(
    request: Request,
    ctx: ContextDep,
    settings: SettingsDep,
    collectionId: CollectionId,
    query: Annotated[OgcItemsQuery, Depends()],
) -> GeoJSONResponse:
    """A page of features ordered by id (plots) or code (admin units), with paging links."""
    source = _source(collectionId)
    limit, offset = query.window(settings)
    page = source.page(ctx, limit, offset, query.parsed_bbox())
    links = collection_links(request, page, lang=ctx.lang)
    links.append(
        _link(
            request,
            "ogc_collection",
            "collection",
            "link_collection",
            ctx.lang,
            collectionId=collectionId,
        )
    )
    body = collection_json(
        page.items,
        number_matched=page.number_matched,
        links=links,
        time_stamp=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    return GeoJSONResponse(body)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    response_model=PlotItem | AdminUnitItem,
    response_class=GeoJSONResponse,
    summary="One feature",
    responses=not_found("No collection or feature has this id."),
)
def ogc_item(
    request: Request,
    ctx: ContextDep,
    collectionId: CollectionId,
    featureId: Annotated[str, Path(max_length=64, description="Plot id, or admin-unit code.")],
) -> GeoJSONResponse:
    """One feature with self and collection links."""
    check_text("featureId", featureId)
    feature = _source(collectionId).one(ctx, featureId)
    collection_href = str(request.url_for("ogc_collection", collectionId=collectionId))
    return GeoJSONResponse(
        feature_json(
            feature,
            links=item_links(
                request, collection_href, lang=ctx.lang, collection_type=JSON_MEDIA_TYPE
            ),
        )
    )
