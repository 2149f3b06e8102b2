"""API schemas of plots (separate from the ``plots`` table)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from models.queries import PlotRecord
from models.units import area_ha, area_mu, local_time
from service.schemas.geojson import Geometry, Link, PagedCollection, RawFeature

__all__ = [
    "PlotCollection",
    "PlotFeature",
    "PlotItem",
    "PlotProperties",
    "VillageRef",
    "plot_feature",
]

MU_PATTERN = r"^-?\d+\.\d{2}$"
HA_PATTERN = r"^-?\d+\.\d{4}$"


class VillageRef(BaseModel):
    """The admin-unit village a plot belongs to."""

    code: str = Field(description="Official code of the village.")
    name: str = Field(description="Official name of the village.")


class PlotProperties(BaseModel):
    """What a plot's Feature carries besides its boundary."""

    code: str = Field(description="Stable external key of the plot.")
    name: str | None = Field(description="Name of the plot (tea garden).")
    owner: str | None = Field(description="Owner or grower.")
    cooperative: str | None = Field(description="Cooperative the plot belongs to.")
    village: VillageRef | None = Field(description="Admin-unit village (code and name), if linked.")
    village_name: str | None = Field(description="Village name as given by the plot's source.")
    crop: str | None = Field(description="Crop, e.g. tea.")
    variety: str | None = Field(description="Cultivar.")
    planting_year: int | None = Field(description="Year of planting.")
    attributes: dict[str, Any] = Field(description="Further attributes from the source file.")
    area_m2: float = Field(description="Area in m² on the WGS 84 ellipsoid.")
    area_mu: str = Field(
        pattern=MU_PATTERN,
        description="Area in 亩 (1 亩 = 10000/15 m²), rounded half up to 2 decimals.",
        examples=["1.13"],
    )
    area_ha: str = Field(
        pattern=HA_PATTERN,
        description="Area in hectares, rounded half up to 4 decimals.",
        examples=["0.0750"],
    )
    retired: bool = Field(description="Whether the plot is retired (kept for history).")
    retired_at: str | None = Field(description="When it was retired, local time with offset.")
    created_at: str = Field(description="When the row was created, local time with offset.")
    updated_at: str = Field(description="When the row last changed, local time with offset.")


class PlotFeature(BaseModel):
    """One plot as a GeoJSON Feature; ``id`` is the plot id."""

    type: Literal["Feature"] = "Feature"
    id: int = Field(description="Plot id.")
    geometry: Geometry = Field(description="MultiPolygon in EPSG:4326 (lon, lat).")
    properties: PlotProperties


class PlotItem(PlotFeature):
    """One plot asked for by id, with its links."""

    links: list[Link] = Field(description="self and the collection.")


class PlotCollection(PagedCollection):
    """A page of plots."""

    features: list[PlotFeature]


def plot_feature(record: PlotRecord, *, timezone: str) -> RawFeature:
    """The Feature of one plot (shaped as :class:`PlotFeature`); times shown in ``timezone``."""
    village = (
        VillageRef(code=record.village_code, name=record.village_admin_name or "")
        if record.village_code is not None
        else None
    )
    return RawFeature(
        id=record.id,
        geometry=record.geometry,
        properties=PlotProperties(
            code=record.code,
            name=record.name,
            owner=record.owner,
            cooperative=record.cooperative,
            village=village,
            village_name=record.village_name,
            crop=record.crop,
            variety=record.variety,
            planting_year=record.planting_year,
            attributes=record.attributes,
            area_m2=record.area_m2,
            area_mu=str(area_mu(record.area_m2)),
            area_ha=str(area_ha(record.area_m2)),
            retired=record.retired_at is not None,
            retired_at=local_time(record.retired_at, timezone),
            created_at=local_time(record.created_at, timezone) or "",
            updated_at=local_time(record.updated_at, timezone) or "",
        ),
    )
