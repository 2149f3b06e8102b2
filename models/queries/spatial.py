"""Spatial pieces the listings share: the bbox filter and the extent of what a caller sees.

Coordinates are longitude/latitude in degrees (EPSG:4326, which OGC calls CRS84 in this
axis order).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from models.queries.common import BBox
from models.tables import AdminUnit, Plot

__all__ = ["admin_unit_extent", "intersects_bbox", "plot_extent"]

Extent = tuple[float, float, float, float]


def intersects_bbox(geom: Any, bbox: BBox) -> ColumnElement[bool]:
    """Rows whose EPSG:4326 geometry column ``geom`` intersects ``bbox``."""
    envelope = func.ST_MakeEnvelope(bbox.west, bbox.south, bbox.east, bbox.north, 4326)
    # `&&` lets the planner use the GiST index; ST_Intersects drops envelope-only hits.
    return and_(geom.op("&&")(envelope), func.ST_Intersects(geom, envelope))


def _extent(session: Session, geom: Any, conditions: list[ColumnElement[bool]]) -> Extent | None:
    box = func.ST_Extent(geom)
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
            *conditions
        )
    ).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def plot_extent(*, session: Session, units: frozenset[int] | None = None) -> Extent | None:
    """``(west, south, east, north)`` of the current (not retired) plots in scope ``units``.

    None when there are none; ``units`` None means every plot.
    """
    conditions: list[ColumnElement[bool]] = [Plot.retired_at.is_(None)]
    if units is not None:
        conditions.append(Plot.village_id.in_(sorted(units)))
    return _extent(session, Plot.geom, conditions)


def admin_unit_extent(*, session: Session, units: frozenset[int] | None = None) -> Extent | None:
    """``(west, south, east, north)`` of the admin units in scope ``units``; None when none."""
    conditions: list[ColumnElement[bool]] = []
    if units is not None:
        conditions.append(AdminUnit.id.in_(sorted(units)))
    return _extent(session, AdminUnit.geom, conditions)
