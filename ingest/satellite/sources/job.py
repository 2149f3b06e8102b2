"""The scheduler's ``satellite.search_ingest`` kind: search a STAC API, ingest only new scenes.

:mod:`ingest.scheduler` imports this module the first time the kind runs (it is named in
``KIND_MODULES``); importing it registers :func:`search_ingest`. A schedule's params are a JSON
object read by :class:`SearchIngestParams`, e.g. ``{"admin_unit": "430923", "max_cloud": 60}``.

Each run searches from ``days_back`` days before the job's start (UTC date) to that date, so a
daily job sees every item again for a few days and an item published late is still found.
Items whose scene is in the ``scenes`` table already (source ``stac``, key
:func:`ingest.satellite.sources.stac.folder_name`) are neither downloaded nor ingested: a run
with nothing new changes no table but ``jobs``. The STAC API, the raster store and
``SKYGROUND_HOME`` come from the scheduler process's environment (``SKYGROUND_STAC_*``,
``SKYGROUND_HOME``), as for ``skyground ingest satellite --source stac``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Engine, select, update

from ingest.satellite.ingest import IngestOptions
from ingest.satellite.sources._area import Bbox, admin_unit_bbox, plots_bbox
from ingest.satellite.sources.settings import StacSettings
from ingest.satellite.sources.stac import ingest_stac
from ingest.scheduler import register
from models.errors import InvalidParameter
from models.settings import DatabaseSettings, RegionSettings
from models.tables import Job

__all__ = ["KIND", "SearchIngestParams", "search_ingest"]

KIND: Final = "satellite.search_ingest"


class SearchIngestParams(BaseModel):
    """Params of a ``satellite.search_ingest`` job: exactly one of ``area``, ``admin_unit``,
    ``plots``; the rest default to ``SKYGROUND_STAC_*``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    area: tuple[float, float, float, float] | None = Field(
        default=None, description="[west, south, east, north] in degrees (EPSG:4326)."
    )
    admin_unit: str | None = Field(default=None, description="Code of an administrative unit.")
    plots: bool = Field(default=False, description="The extent of every current plot.")
    stac_url: str | None = Field(default=None, description="STAC API landing page.")
    collection: str | None = Field(default=None, description="Collection searched.")
    max_cloud: float | None = Field(
        default=None, ge=0, le=100, description="Highest eo:cloud_cover kept (%)."
    )
    days_back: int = Field(
        default=10, ge=0, le=366, description="Days searched before the job's start date."
    )

    @model_validator(mode="after")
    def _one_area(self) -> Self:
        given = [self.area is not None, self.plots, self.admin_unit is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of area, admin_unit, plots")
        if self.area is not None:
            west, south, east, north = self.area
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                raise ValueError(f"area {list(self.area)} is not west,south,east,north")
        return self

    @classmethod
    def parse(cls, params: dict[str, Any]) -> SearchIngestParams:
        """Checked params.

        Raises:
            InvalidParameter: an unknown key, a bad value, or not exactly one area.
        """
        try:
            return cls.model_validate(params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            reason = f"{where}: {message}" if where else message
            raise InvalidParameter(name="params", reason=reason) from None

    def bbox(self, engine: Engine) -> Bbox:
        """The search area (EPSG:4326).

        Raises:
            NotFound: no current plot, or no unit with that code.
        """
        if self.area is not None:
            return self.area
        if self.plots:
            return plots_bbox(engine)
        return admin_unit_bbox(engine, str(self.admin_unit))


def search_ingest(engine: Engine, params: dict[str, Any], job_id: uuid.UUID) -> dict[str, Any]:
    """Search the STAC API over the area and ingest the items not ingested before.

    Returns:
        Counts: ``found`` (items the search kept), ``new`` (scenes ingested now), ``skipped``
        (items ingested by an earlier run), ``rejected`` (unusable items, tried again next run),
        the new ``scenes`` keys, the ``ingest_job`` id (None when nothing was new) and the
        searched ``start``, ``end`` (UTC dates) and ``bbox``.

    Raises:
        InvalidParameter: bad params.
        StacSearchFailed: the API cannot be searched (the scheduler retries, then dead-letters).
    """
    request = SearchIngestParams.parse(params)
    overrides = {"url": request.stac_url, "collection": request.collection}
    settings = StacSettings(**{k: v for k, v in overrides.items() if v})  # type: ignore[arg-type]
    db = DatabaseSettings()
    bbox = request.bbox(engine)
    end = _start_date(engine, job_id)
    start = end - timedelta(days=request.days_back)

    def progress(done: int, total: int) -> None:
        with engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id).values(progress=done / total))

    ingest_job, results, report = ingest_stac(
        engine=engine,
        bbox=bbox,
        start=start,
        end=end,
        home=db.home,
        store=db.raster_store,
        options=IngestOptions(source="stac", lang=RegionSettings().lang),
        settings=settings,
        max_cloud_pct=request.max_cloud,
        progress=progress,
        skip_ingested=True,
    )
    return {
        "found": report.found,
        "new": len(results),
        "skipped": len(report.skipped),
        "rejected": len(report.rejected),
        "scenes": [r.scene_key for r in results],
        "ingest_job": ingest_job,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "bbox": list(bbox),
    }


def _start_date(engine: Engine, job_id: uuid.UUID) -> date:
    # The scheduler's clock (the `now` of its round, stored as started_at), not this host's.
    with engine.connect() as conn:
        started = conn.execute(select(Job.started_at).where(Job.id == job_id)).scalar()
    return (started or datetime.now(UTC)).astimezone(UTC).date()


register(KIND, search_ingest)
