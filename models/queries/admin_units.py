"""Admin unit (county, township, village) queries with optional GeoJSON geometry.

Geometries come out as GeoJSON in EPSG:4326 (longitude, latitude); areas are square
metres on the WGS 84 ellipsoid, as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, func, null, select
from sqlalchemy.orm import Session, aliased

from models.auth.errors import Forbidden
from models.errors import NotFound
from models.queries.common import (
    GEOJSON_DIGITS,
    BBox,
    InvalidParameterValue,
    Page,
    check_text,
    check_window,
)
from models.queries.spatial import intersects_bbox
from models.tables import ADMIN_LEVELS, AdminUnit

__all__ = ["AdminUnitRecord", "get_admin_unit", "list_admin_units"]


@dataclass(frozen=True, slots=True)
class AdminUnitRecord:
    """One admin unit; ``geometry`` is GeoJSON text, None when it was not asked for."""

    code: str
    name: str
    level: str
    parent_code: str | None
    parent_name: str | None
    area_m2: float
    geometry: str | None


_parent = aliased(AdminUnit, name="parent")


def _select_units(with_geometry: bool) -> Select[*tuple[Any, ...]]:
    geometry = (
        func.ST_AsGeoJSON(AdminUnit.geom, GEOJSON_DIGITS) if with_geometry else null().cast(Text)
    )
    return select(
        AdminUnit.code,
        AdminUnit.name,
        AdminUnit.level,
        _parent.code.label("parent_code"),
        _parent.name.label("parent_name"),
        AdminUnit.area_m2,
        geometry.label("geometry"),
    ).outerjoin(_parent, _parent.id == AdminUnit.parent_id)


def list_admin_units(
    *,
    session: Session,
    limit: int,
    offset: int = 0,
    level: str | None = None,
    parent: str | None = None,
    with_geometry: bool = True,
    units: frozenset[int] | None = None,
    bbox: BBox | None = None,
) -> Page[AdminUnitRecord]:
    """Admin units ordered by code, one page of them.

    Args:
        session: An open session.
        limit: Page size (at least 1).
        offset: Rows to skip (at least 0).
        level: ``county``, ``township`` or ``village``.
        parent: Code of the parent unit: its direct children only. Unknown codes match nothing.
        with_geometry: Also return each boundary as GeoJSON.
        units: The caller's scope (admin unit ids); None for no limit.
        bbox: Keep units whose boundary intersects this EPSG:4326 box.
    """
    check_window(limit=limit, offset=offset)
    check_text("parent", parent)
    conditions: list[ColumnElement[bool]] = []
    if level is not None:
        if level not in ADMIN_LEVELS:
            raise InvalidParameterValue(name="level", value=level, reason="@reason_level")
        conditions.append(AdminUnit.level == level)
    if parent is not None:
        parent_id = select(AdminUnit.id).where(AdminUnit.code == parent).scalar_subquery()
        conditions.append(AdminUnit.parent_id == parent_id)
    if units is not None:
        conditions.append(AdminUnit.id.in_(sorted(units)))
    if bbox is not None:
        conditions.append(intersects_bbox(AdminUnit.geom, bbox))
    matched = session.execute(
        select(func.count()).select_from(AdminUnit).where(*conditions)
    ).scalar_one()
    items: list[AdminUnitRecord] = []
    if offset < matched:
        # As for plots: choose the page first, then build GeoJSON for its rows only.
        page_ids = (
            select(AdminUnit.id.label("page_id"))
            .where(*conditions)
            .order_by(AdminUnit.code)
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        rows = session.execute(
            _select_units(with_geometry)
            .join(page_ids, page_ids.c.page_id == AdminUnit.id)
            .order_by(AdminUnit.code)
        )
        items = [AdminUnitRecord(**row._mapping) for row in rows]
    return Page(items=items, number_matched=matched, limit=limit, offset=offset)


def get_admin_unit(
    *,
    session: Session,
    code: str,
    with_geometry: bool = True,
    units: frozenset[int] | None = None,
) -> AdminUnitRecord:
    """The admin unit with ``code``.

    Raises:
        NotFound: no unit has ``code``.
        Forbidden: the unit lies outside the caller's scope ``units``.
    """
    check_text("code", code)
    row = session.execute(_select_units(with_geometry).where(AdminUnit.code == code)).one_or_none()
    if row is None:
        raise NotFound(kind="@kind_admin_unit", ident=code)
    if units is not None:
        unit_id = session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
        if unit_id not in units:
            raise Forbidden()
    return AdminUnitRecord(**row._mapping)
