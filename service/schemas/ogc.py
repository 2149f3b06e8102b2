"""OGC API - Features (Part 1: Core) documents: landing page, conformance, collections.

Names in camelCase (``itemType``, ``conformsTo``) are the standard's. Extents are in CRS84
(longitude, latitude in degrees, WGS 84), which is how EPSG:4326 is stored here.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

from service.schemas.geojson import Link

__all__ = [
    "CONFORMANCE_CLASSES",
    "CRS84",
    "Collection",
    "Collections",
    "Conformance",
    "Extent",
    "JSON_MEDIA_TYPE",
    "LandingPage",
    "OPENAPI_MEDIA_TYPE",
    "SpatialExtent",
]

JSON_MEDIA_TYPE: Final = "application/json"
OPENAPI_MEDIA_TYPE: Final = "application/vnd.oai.openapi+json;version=3.0"
CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

_CONF: Final = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
#: The Part 1 classes served: Core, GeoJSON and the OpenAPI 3.0 description.
CONFORMANCE_CLASSES: Final = (_CONF + "core", _CONF + "geojson", _CONF + "oas30")


class LandingPage(BaseModel):
    """``/ogc``: where the API description, conformance and collections are."""

    title: str = Field(description="Title in the request's language.")
    description: str = Field(description="What the API serves, in the request's language.")
    links: list[Link] = Field(description="self, service-desc, conformance and data.")


class Conformance(BaseModel):
    """``/ogc/conformance``: the conformance classes this API implements."""

    conformsTo: list[str] = Field(description="URIs of the conformance classes.")


class SpatialExtent(BaseModel):
    """Bounding box of a collection's features in CRS84."""

    bbox: list[list[float]] = Field(description="One [west, south, east, north] box in degrees.")
    crs: str = Field(default=CRS84, description="CRS of the box: CRS84.")


class Extent(BaseModel):
    """Extent of a collection; only spatial (the features carry no time)."""

    spatial: SpatialExtent


class Collection(BaseModel):
    """One feature collection: ``plots`` or ``admin_units``."""

    id: str = Field(description="Collection id used in the URLs.")
    title: str = Field(description="Title in the request's language.")
    description: str = Field(description="What the features are, in the request's language.")
    itemType: Literal["feature"] = "feature"
    crs: list[str] = Field(default=[CRS84], description="CRS the features are served in.")
    extent: Extent | None = Field(
        default=None,
        description="Box of the features the caller may see; absent when there are none.",
    )
    links: list[Link] = Field(description="self and items.")


class Collections(BaseModel):
    """``/ogc/collections``: every collection."""

    links: list[Link] = Field(description="self.")
    collections: list[Collection]
