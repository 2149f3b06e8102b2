"""GeoJSON (RFC 7946) and OGC API Features pieces shared by every collection.

Positions are longitude, latitude in EPSG:4326 (CRS84 axis order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "GEOJSON_MEDIA_TYPE",
    "Geometry",
    "Link",
    "PagedCollection",
    "RawFeature",
    "collection_json",
    "feature_json",
]

GEOJSON_MEDIA_TYPE = "application/geo+json"

Geometry = dict[str, Any]
"""A GeoJSON geometry object as PostGIS ``ST_AsGeoJSON`` writes it."""


class Link(BaseModel):
    """A web link as OGC API Features uses them (``rel`` self/next/prev/collection)."""

    model_config = ConfigDict(frozen=True)

    href: str = Field(description="Absolute URL.")
    rel: str = Field(description="Relation: self, next, prev or collection.")
    type: str = Field(default=GEOJSON_MEDIA_TYPE, description="Media type of the target.")
    title: str | None = Field(default=None, description="Title in the request's language.")


class PagedCollection(BaseModel):
    """Members of every paged FeatureCollection; names follow OGC API Features."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    # camelCase because OGC API Features - Part 1 names these members so.
    numberMatched: int = Field(description="Features matching the filters, all pages together.")
    numberReturned: int = Field(description="Features in this response.")
    links: list[Link] = Field(description="self, and next/prev pages when they exist.")


_LINKS = TypeAdapter(list[Link])


@dataclass(frozen=True, slots=True)
class RawFeature:
    """A Feature whose geometry is GeoJSON text from PostGIS, written out without parsing.

    Parsing and re-writing the coordinates of a 1000-plot page costs more than the query;
    the pydantic Feature models describe the same JSON for the OpenAPI document.
    """

    id: int | str
    geometry: str | None
    properties: BaseModel


def feature_json(feature: RawFeature, *, links: Sequence[Link] | None = None) -> str:
    """One GeoJSON Feature as JSON text (``links`` added when given)."""
    parts = [
        '{"type":"Feature","id":',
        json.dumps(feature.id, ensure_ascii=False),
        ',"geometry":',
        feature.geometry if feature.geometry is not None else "null",
        ',"properties":',
        feature.properties.model_dump_json(),
    ]
    if links is not None:
        parts += [',"links":', _LINKS.dump_json(list(links)).decode("utf-8")]
    parts.append("}")
    return "".join(parts)


def collection_json(
    features: Sequence[RawFeature],
    *,
    number_matched: int,
    links: Sequence[Link],
    time_stamp: str | None = None,
) -> str:
    """A paged GeoJSON FeatureCollection as JSON text (OGC API Features members).

    ``time_stamp`` (RFC 3339, when the response was made) is written as ``timeStamp``.
    """
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberMatched": number_matched,
        "numberReturned": len(features),
    }
    if time_stamp is not None:
        head["timeStamp"] = time_stamp
    return "".join(
        [
            json.dumps(head, ensure_ascii=False)[:-1],
            ',"links":',
            _LINKS.dump_json(list(links)).decode("utf-8"),
            ',"features":[',
            ",".join(feature_json(feature) for feature in features),
            "]}",
        ]
    )
