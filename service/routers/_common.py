"""What the collection routers share: paging, the language parameter, links, responses."""

# No ``from __future__ import annotations``: FastAPI reads these dataclass signatures at runtime.

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from models.i18n import t
from models.queries import InvalidParameterValue, Page
from models.queries.common import MAX_BIGINT
from models.settings import Settings
from service.schemas import GEOJSON_MEDIA_TYPE, ErrorBody, Link, ValidationErrorBody

__all__ = [
    "ERROR_RESPONSES",
    "GeoJSONResponse",
    "PagingQuery",
    "collection_links",
    "item_links",
    "language_query",
    "not_found",
    "page_window",
]


def _json_error(model: type[BaseModel], description: str) -> dict[str, Any]:
    # Inline schema under application/json: with "model", FastAPI would list error bodies
    # under the route's media type (application/geo+json), which they are not.
    return {
        "description": description,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


#: Error bodies as the handlers in ``service.errors`` write them, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _json_error(ErrorBody, "A parameter is invalid; `detail` names it and its value."),
    422: _json_error(
        ValidationErrorBody, "A parameter has the wrong type or bounds; `detail` names it."
    ),
}


def not_found(description: str) -> dict[int | str, dict[str, Any]]:
    """``ERROR_RESPONSES`` plus a 404 with ``description``."""
    return {**ERROR_RESPONSES, 404: _json_error(ErrorBody, description)}


class GeoJSONResponse(JSONResponse):
    """A JSON body served as ``application/geo+json``.

    ``content`` may be JSON text already written (see ``service.schemas.collection_json``),
    a pydantic model, or plain JSON data.
    """

    media_type = GEOJSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` as UTF-8 JSON."""
        if isinstance(content, str):
            return content.encode("utf-8")
        if isinstance(content, BaseModel):
            return content.model_dump_json().encode("utf-8")
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def language_query(
    lang: Annotated[
        str | None,
        Query(
            max_length=35,
            description="Language of messages: zh-CN (default) or en; "
            "overrides the Accept-Language header.",
        ),
    ] = None,
) -> None:
    """Document ``lang``; it is read by ``service.errors.request_language``."""


@dataclass
class PagingQuery:
    """Page window of a collection (OGC API Features ``limit``/``offset``)."""

    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Features per page; default and maximum come from the settings "
            "SKYGROUND_API_DEFAULT_PAGE_SIZE and SKYGROUND_API_MAX_PAGE_SIZE (100 and 1000).",
        ),
    ] = None
    offset: Annotated[
        int,
        Query(ge=0, le=MAX_BIGINT, description="Features to skip before this page."),
    ] = 0


def page_window(paging: PagingQuery, settings: Settings) -> tuple[int, int]:
    """``(limit, offset)`` with the default filled in; a limit over the maximum is refused."""
    limit = settings.api.default_page_size if paging.limit is None else paging.limit
    maximum = settings.api.max_page_size
    if limit > maximum:
        raise InvalidParameterValue(
            name="limit", value=limit, reason="@reason_limit_max", maximum=maximum
        )
    return limit, paging.offset


def collection_links(request: Request, page: Page[Any], *, lang: str) -> list[Link]:
    """``self`` plus ``next``/``prev`` links that keep every other query parameter."""
    url = request.url

    def link(rel: str, offset: int) -> Link:
        href = str(url.include_query_params(limit=page.limit, offset=offset))
        return Link(href=href, rel=rel, title=t(f"link_{rel}", lang))

    links = [Link(href=str(url), rel="self", title=t("link_self", lang))]
    if page.has_next:
        links.append(link("next", page.offset + page.limit))
    if page.offset > 0:
        links.append(link("prev", max(0, page.offset - page.limit)))
    return links


def item_links(
    request: Request,
    collection_href: str,
    *,
    lang: str,
    collection_type: str = GEOJSON_MEDIA_TYPE,
) -> list[Link]:
    """``self`` and ``collection`` links of one Feature (the collection of ``collection_type``)."""
    return [
        Link(href=str(request.url), rel="self", title=t("link_self", lang)),
        Link(
            href=collection_href,
            rel="collection",
            type=collection_type,
            title=t("link_collection", lang),
        ),
    ]
