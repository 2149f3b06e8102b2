"""Schemas of the per-plot index series and of the scene list."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.queries.series import IndexObservation, SceneRecord
from models.units import local_time
from service.schemas.geojson import Geometry, PagedCollection

__all__ = [
    "CSV_COLUMNS",
    "IndexSeries",
    "ObservationOut",
    "SceneCollection",
    "SceneFeature",
    "observation_out",
    "scene_feature",
]


class ObservationOut(BaseModel):
    """One acquisition's statistics of the index over the plot (index units, unscaled)."""

    acquired_at: str = Field(description="Acquisition time, ISO 8601 in the local time zone.")
    date: str = Field(description="Local calendar date of the acquisition.")
    source: str
    scene_id: int
    mean: float | None = Field(description="Coverage-weighted mean.")
    std: float | None = Field(description="Coverage-weighted population standard deviation.")
    min: float | None
    max: float | None
    median: float | None
    p10: float | None
    p90: float | None
    valid_weight: float = Field(description="Sum of coverage fractions of valid pixels.")
    valid_count: int = Field(description="Valid pixels touching the plot.")
    clear_fraction: float = Field(description="Share of the plot's pixel weight that is clear.")
    masked_shares: dict[str, Any] = Field(description="Share of weight masked, by reason.")
    flagged: bool = Field(description="Kept but not trusted (see flag_reason).")
    flag_reason: str | None


class IndexSeries(BaseModel):
    """The series of one index over one plot, oldest first."""

    plot_id: int
    code: str
    index: str
    observations: list[ObservationOut]


class SceneProperties(BaseModel):
    """What a scene list shows of a scene."""

    source: str
    scene_key: str
    platform: str | None
    acquired_at: str = Field(description="ISO 8601 in the local time zone.")
    date: str = Field(description="Local calendar date.")
    tile_id: str | None
    orbit: int | None
    cloud_cover: float | None = Field(description="Cloud cover of the whole scene, percent.")
    clear_fraction: float | None = Field(description="Clear share over the plots, 0–1.")
    assets: list[str] = Field(description="Index and true-colour rasters made from it.")


class SceneFeature(BaseModel):
    """A scene footprint as a GeoJSON Feature (EPSG:4326)."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: Geometry
    properties: SceneProperties


class SceneCollection(PagedCollection):
    """A page of scenes, newest first."""

    features: list[SceneFeature]


CSV_COLUMNS = [
    "plot_id", "code", "index", "acquired_at", "date", "source", "scene_id", "mean", "std",
    "min", "max", "median", "p10", "p90", "valid_weight", "valid_count", "clear_fraction",
    "flagged", "flag_reason",
]  # fmt: skip


def observation_out(observation: IndexObservation, *, timezone: str) -> ObservationOut:
    """The API form of one observation, times in ``timezone``."""
    shown = local_time(observation.acquired_at, timezone) or ""
    return ObservationOut(
        acquired_at=shown,
        date=shown[:10],
        source=observation.source,
        scene_id=observation.scene_id,
        mean=observation.mean,
        std=observation.std,
        min=observation.min,
        max=observation.max,
        median=observation.median,
        p10=observation.p10,
        p90=observation.p90,
        valid_weight=observation.valid_weight,
        valid_count=observation.valid_count,
        clear_fraction=observation.clear_fraction,
        masked_shares=observation.masked_shares,
        flagged=observation.flagged,
        flag_reason=observation.flag_reason,
    )


def scene_feature(record: SceneRecord, *, timezone: str) -> SceneFeature:
    """The API form of one scene."""
    shown = local_time(record.acquired_at, timezone) or ""
    return SceneFeature(
        id=record.id,
        geometry=json.loads(record.footprint),
        properties=SceneProperties(
            source=record.source,
            scene_key=record.scene_key,
            platform=record.platform,
            acquired_at=shown,
            date=shown[:10],
            tile_id=record.tile_id,
            orbit=record.orbit,
            cloud_cover=record.cloud_cover,
            clear_fraction=record.clear_fraction,
            assets=record.assets,
        ),
    )
