"""Per-plot index time series and the scene list.

Index values are in the index's own units (unscaled). Times are aware UTC datetimes;
date filters are local calendar days of the deployment's time zone, converted to UTC here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session

from models.queries.common import GEOJSON_DIGITS, BBox, InvalidParameterValue, Page, check_window
from models.queries.plots import check_plot_visible
from models.tables import PlotIndexStat, RasterAsset, Scene

__all__ = [
    "IndexObservation",
    "SceneRecord",
    "list_scenes",
    "local_day_bounds",
    "plot_index_series",
    "plot_index_series_json",
]

# One JSON object per observation, built by PostgreSQL: a 5-year series is 365 rows, and
# decoding them into Python objects and encoding them again cost several times the query.
# Keys, order and value forms are those of ``service.schemas.series.ObservationOut`` (times
# in the transaction's time zone, set by the caller; numbers in shortest round-trip form).
_SERIES_JSON = text(
    """
SELECT row_to_json(o)::text
FROM plot_index_stats AS s
CROSS JOIN LATERAL (
    SELECT to_char(s.acquired_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') AS acquired_at,
        to_char(s.acquired_at, 'YYYY-MM-DD') AS date, s.source, s.scene_id, s.mean, s.std,
        s.min, s.max, s.median, s.p10, s.p90, s.valid_weight, s.valid_count,
        s.clear_fraction, s.masked_shares, s.flagged, s.flag_reason
) AS o
WHERE s.plot_id = :plot_id
    AND s.index = :index
    AND (CAST(:start AS timestamptz) IS NULL OR s.acquired_at >= :start)
    AND (CAST(:end AS timestamptz) IS NULL OR s.acquired_at < :end)
    AND (:include_flagged OR NOT s.flagged)
ORDER BY s.acquired_at, s.source
"""
)


@dataclass(frozen=True, slots=True)
class IndexObservation:
    """Statistics of one index over one plot at one acquisition (see ``PlotIndexStat``)."""

    acquired_at: datetime
    source: str
    scene_id: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    median: float | None
    p10: float | None
    p90: float | None
    valid_weight: float
    valid_count: int
    clear_fraction: float
    masked_shares: dict[str, Any]
    flagged: bool
    flag_reason: str | None


@dataclass(frozen=True, slots=True)
class SceneRecord:
    """A scene with its footprint as GeoJSON text (EPSG:4326) and the asset kinds it has."""

    id: int
    source: str
    scene_key: str
    platform: str | None
    acquired_at: datetime
    tile_id: str | None
    orbit: int | None
    cloud_cover: float | None
    clear_fraction: float | None
    footprint: str
    assets: list[str]


def local_day_bounds(
    start: date | None, end: date | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """UTC bounds ``[from, to)`` covering local days ``start`` … ``end`` (both inclusive)."""
    if start is not None and end is not None and start > end:
        raise InvalidParameterValue(
            name="start", value=start.isoformat(), reason="@reason_start_after_end", end=end
        )
    zone = ZoneInfo(timezone)

    def at_midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return (
        at_midnight(start) if start is not None else None,
        at_midnight(end + timedelta(days=1)) if end is not None else None,
    )


def plot_index_series(
    *,
    session: Session,
    plot_id: int,
    index: str,
    start: datetime | None = None,
    end: datetime | None = None,
    include_flagged: bool = False,
    units: frozenset[int] | None = None,
) -> tuple[str, list[IndexObservation]]:
    """The plot's code and its observations of ``index`` in ``[start, end)``, oldest first.

    Raises:
        NotFound: no plot has ``plot_id``.
        Forbidden: the plot lies outside the caller's scope ``units``.
    """
    code = check_plot_visible(session, plot_id, units)
    stat = PlotIndexStat
    conditions = [stat.plot_id == plot_id, stat.index == index]
    if start is not None:
        conditions.append(stat.acquired_at >= start)
    if end is not None:
        conditions.append(stat.acquired_at < end)
    if not include_flagged:
        conditions.append(stat.flagged.is_(False))
    rows = session.execute(
        select(
            stat.acquired_at,
            stat.source,
            stat.scene_id,
            stat.mean,
            stat.std,
            stat.min,
            stat.max,
            stat.median,
            stat.p10,
            stat.p90,
            stat.valid_weight,
            stat.valid_count,
            stat.clear_fraction,
            stat.masked_shares,
            stat.flagged,
            stat.flag_reason,
        )
        .where(and_(*conditions))
        .order_by(stat.acquired_at, stat.source)
    ).all()
    return code, [IndexObservation(**row._asdict()) for row in rows]


def plot_index_series_json(
    *,
    session: Session,
    plot_id: int,
    index: str,
    timezone: str,
    start: datetime | None = None,
    end: datetime | None = None,
    include_flagged: bool = False,
    units: frozenset[int] | None = None,
) -> tuple[str, str]:
    """As :func:`plot_index_series`, the observations as one JSON array (text), oldest first.

    Times are ISO 8601 in ``timezone`` (an IANA name), which becomes the time zone of the
    rest of the session's transaction.

    Raises:
        NotFound: no plot has ``plot_id``.
        Forbidden: the plot lies outside the caller's scope ``units``.
    """
    code = check_plot_visible(session, plot_id, units)
    session.execute(text("SELECT set_config('TimeZone', :zone, true)"), {"zone": timezone})
    rows = session.execute(
        _SERIES_JSON,
        {
            "plot_id": plot_id, "index": index, "start": start, "end": end,
            "include_flagged": include_flagged,
        },
    ).scalars()  # fmt: skip
    return code, "[" + ",".join(rows) + "]"


def list_scenes(
    *,
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    source: str | None = None,
    bbox: BBox | None = None,
    limit: int,
    offset: int = 0,
) -> Page[SceneRecord]:
    """Scenes acquired in ``[start, end)``, newest first, with their asset kinds."""
    check_window(limit=limit, offset=offset)
    conditions = []
    if start is not None:
        conditions.append(Scene.acquired_at >= start)
    if end is not None:
        conditions.append(Scene.acquired_at < end)
    if source is not None:
        conditions.append(Scene.source == source)
    if bbox is not None:
        envelope = func.ST_MakeEnvelope(bbox.west, bbox.south, bbox.east, bbox.north, 4326)
        conditions.append(
            and_(Scene.footprint.op("&&")(envelope), func.ST_Intersects(Scene.footprint, envelope))
        )
    where = and_(*conditions) if conditions else and_(True)
    total = session.execute(select(func.count()).select_from(Scene).where(where)).scalar_one()
    kinds = (
        select(func.coalesce(func.array_agg(RasterAsset.kind.distinct()), []))
        .where(RasterAsset.scene_id == Scene.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Scene.id,
            Scene.source,
            Scene.scene_key,
            Scene.platform,
            Scene.acquired_at,
            Scene.tile_id,
            Scene.orbit,
            Scene.cloud_cover,
            Scene.clear_fraction,
            func.ST_AsGeoJSON(Scene.footprint, GEOJSON_DIGITS).label("footprint"),
            kinds.label("assets"),
        )
        .where(where)
        .order_by(Scene.acquired_at.desc(), Scene.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [SceneRecord(**{**row._asdict(), "assets": sorted(row.assets or [])}) for row in rows]
    return Page(items=items, number_matched=int(total), limit=limit, offset=offset)
