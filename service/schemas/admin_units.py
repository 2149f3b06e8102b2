"""API schemas of admin units (separate from the ``admin_units`` table)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from models.i18n import t
from models.queries import AdminUnitRecord
from models.units import area_ha, area_mu
from service.schemas.geojson import Geometry, Link, PagedCollection, RawFeature
from service.schemas.plots import HA_PATTERN, MU_PATTERN

__all__ = [
    "AdminUnitCollection",
    "AdminUnitFeature",
    "AdminUnitItem",
    "AdminUnitProperties",
    "admin_unit_feature",
]


class AdminUnitProperties(BaseModel):
    """What an admin unit's Feature carries besides its boundary."""

    code: str = Field(description="Official code.")
    name: str = Field(description="Official name.")
    level: Literal["county", "township", "village"] = Field(description="Level of the unit.")
    level_name: str = Field(description="Level in the request's language (县/乡镇/村).")
    parent: str | None = Field(description="Code of the parent unit.")
    parent_name: str | None = Field(description="Name of the parent unit.")
    area_m2: float = Field(description="Area in m² on the WGS 84 ellipsoid.")
    area_mu: str = Field(
        pattern=MU_PATTERN, description="Area in 亩, rounded half up to 2 decimals."
    )
    area_ha: str = Field(
        pattern=HA_PATTERN, description="Area in hectares, rounded half up to 4 decimals."
    )


class AdminUnitFeature(BaseModel):
    """One admin unit as a GeoJSON Feature; ``id`` is its code."""

    type: Literal["Feature"] = "Feature"
    id: str = Field(description="Official code of the unit.")
    geometry: Geometry | None = Field(
        description="MultiPolygon in EPSG:4326 (lon, lat); null when geometry=false."
    )
    properties: AdminUnitProperties


class AdminUnitItem(AdminUnitFeature):
    """One admin unit asked for by code, with its links."""

    links: list[Link] = Field(description="self and the collection.")


class AdminUnitCollection(PagedCollection):
    """A page of admin units."""

    features: list[AdminUnitFeature]


def admin_unit_feature(record: AdminUnitRecord, *, lang: str) -> RawFeature:
    """The Feature of one admin unit (shaped as :class:`AdminUnitFeature`); level in ``lang``."""
    return RawFeature(
        id=record.code,
        geometry=record.geometry,
        properties=AdminUnitProperties(
            code=record.code,
            name=record.name,
            level=record.level,
            level_name=t(f"level_{record.level}", lang),
            parent=record.parent_code,
            parent_name=record.parent_name,
            area_m2=record.area_m2,
            area_mu=str(area_mu(record.area_m2)),
            area_ha=str(area_ha(record.area_m2)),
        ),
    )
