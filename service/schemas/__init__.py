"""API schemas: what the HTTP service returns, separate from the tables."""

from service.schemas.admin_units import (
    AdminUnitCollection,
    AdminUnitFeature,
    AdminUnitItem,
    AdminUnitProperties,
    admin_unit_feature,
)
from service.schemas.errors import ErrorBody, ValidationErrorBody
from service.schemas.geojson import (
    GEOJSON_MEDIA_TYPE,
    Link,
    PagedCollection,
    RawFeature,
    collection_json,
    feature_json,
)
from service.schemas.plots import (
    PlotCollection,
    PlotFeature,
    PlotItem,
    PlotProperties,
    VillageRef,
    plot_feature,
)

__all__ = [
    "GEOJSON_MEDIA_TYPE",
    "AdminUnitCollection",
    "AdminUnitFeature",
    "AdminUnitItem",
    "AdminUnitProperties",
    "ErrorBody",
    "Link",
    "PagedCollection",
    "PlotCollection",
    "PlotFeature",
    "PlotItem",
    "PlotProperties",
    "RawFeature",
    "ValidationErrorBody",
    "VillageRef",
    "admin_unit_feature",
    "collection_json",
    "feature_json",
    "plot_feature",
]
