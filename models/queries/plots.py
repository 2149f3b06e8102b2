"""Plot queries: filtered, paged listings and single plots with GeoJSON geometry.

Geometries come out of PostGIS as GeoJSON in EPSG:4326 (longitude, latitude) with
:data:`~models.queries.common.GEOJSON_DIGITS` decimals; areas are square metres on the
WGS 84 ellipsoid, as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from models.auth.errors import Forbidden
from models.errors import NotFound
from models.queries.common import (
    GEOJSON_DIGITS,
    LIKE_ESCAPE,
    BBox,
    Page,
    check_text,
    check_window,
    escape_like,
)
from models.queries.spatial import intersects_bbox
from models.tables import AdminUnit, Plot

__all__ = ["PlotRecord", "check_plot_visible", "get_plot", "list_plots"]


@dataclass(frozen=True, slots=True)
class PlotRecord:
    """One plot as the API and the CLI show it.

    Times are aware UTC datetimes; ``geometry`` is GeoJSON text (kept as text so the API
    can pass it through without parsing thousands of coordinates).
    """

    id: int
    code: str
    name: str | None
    owner: str | None
    cooperative: str | None
    village_code: str | None
    village_admin_name: str | None
    village_name: str | None
    crop: str | None
    variety: str | None
    planting_year: int | None
    attributes: dict[str, Any]
    area_m2: float
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    geometry: str


_village = aliased(AdminUnit, name="village")


def _select_plots() -> Select[*tuple[Any, ...]]:
    return select(
        Plot.id,
        Plot.code,
        Plot.name,
        Plot.owner,
        Plot.cooperative,
        _village.code.label("village_code"),
        _village.name.label("village_admin_name"),
        Plot.village_name,
        Plot.crop,
        Plot.variety,
        Plot.planting_year,
        Plot.attributes,
        Plot.area_m2,
        Plot.retired_at,
        Plot.created_at,
        Plot.updated_at,
        func.ST_AsGeoJSON(Plot.geom, GEOJSON_DIGITS).label("geometry"),
    ).outerjoin(_village, _village.id == Plot.village_id)


def _units_within(code: str) -> Select[*tuple[Any, ...]]:
    """Ids of the admin unit with ``code`` and of every unit below it (parent chain)."""
    top = select(AdminUnit.id).where(AdminUnit.code == code).cte("units_within", recursive=True)
    child = aliased(AdminUnit, name="child")
    tree = top.union_all(select(child.id).where(child.parent_id == top.c.id))
    return select(tree.c.id)


def _filters(
    *,
    bbox: BBox | None,
    village: str | None,
    cooperative: str | None,
    code: str | None,
    q: str | None,
    include_retired: bool,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if bbox is not None:
        conditions.append(intersects_bbox(Plot.geom, bbox))
    if village is not None:
        conditions.append(Plot.village_id.in_(_units_within(village)))
    if cooperative is not None:
        conditions.append(Plot.cooperative == cooperative)
    if code is not None:
        conditions.append(Plot.code == code)
    if q:
        pattern = f"%{escape_like(q)}%"
        conditions.append(
            or_(
                Plot.name.ilike(pattern, escape=LIKE_ESCAPE),
                Plot.code.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    if not include_retired:
        conditions.append(Plot.retired_at.is_(None))
    return conditions


def _record(row: Any) -> PlotRecord:
    return PlotRecord(**row._mapping)


def list_plots(
    *,
    session: Session,
    limit: int,
    offset: int = 0,
    bbox: BBox | None = None,
    village: str | None = None,
    cooperative: str | None = None,
    code: str | None = None,
    q: str | None = None,
    include_retired: bool = False,
    units: frozenset[int] | None = None,
) -> Page[PlotRecord]:
    """Plots matching every given filter, ordered by id, one page of them.

    Args:
        session: An open session.
        limit: Page size (at least 1).
        offset: Rows to skip (at least 0).
        bbox: Keep plots whose boundary intersects this EPSG:4326 box.
        village: Code of an admin unit: plots whose village is that unit or lies below it
            (a village code gives its plots, a township or county code all plots in it).
            An unknown code matches nothing.
        cooperative: Exact cooperative name.
        code: Exact plot code.
        q: Case-insensitive substring of the name or the code; ``%`` and ``_`` are literal.
        include_retired: Also list retired plots.
        units: The caller's scope (admin unit ids): only plots whose village is one of them;
            None for no limit.
    """
    check_window(limit=limit, offset=offset)
    texts = {"village": village, "cooperative": cooperative, "code": code, "q": q}
    for name, value in texts.items():
        check_text(name, value)
    conditions = _filters(
        bbox=bbox,
        village=village,
        cooperative=cooperative,
        code=code,
        q=q,
        include_retired=include_retired,
    )
    if units is not None:
        conditions.append(Plot.village_id.in_(sorted(units)))
    matched = session.execute(
        select(func.count()).select_from(Plot).where(*conditions)
    ).scalar_one()
    items: list[PlotRecord] = []
    if offset < matched:
        # Pick the page's ids first: PostgreSQL would otherwise build the GeoJSON of every
        # row the offset skips (12x slower at offset 150000 of 200000 plots).
        page_ids = (
            select(Plot.id.label("page_id"))
            .where(*conditions)
            .order_by(Plot.id)
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        rows = session.execute(
            _select_plots().join(page_ids, page_ids.c.page_id == Plot.id).order_by(Plot.id)
        )
        items = [_record(row) for row in rows]
    return Page(items=items, number_matched=matched, limit=limit, offset=offset)


def check_plot_visible(session: Session, plot_id: int, units: frozenset[int] | None) -> str:
    """The plot's code, if it exists and lies in the caller's scope ``units``.

    Raises:
        NotFound: no plot has ``plot_id``.
        Forbidden: the plot's village is outside ``units`` (or it has no village).
    """
    row = session.execute(
        select(Plot.code, Plot.village_id).where(Plot.id == plot_id)
    ).one_or_none()
    if row is None:
        raise NotFound(kind="@kind_plot", ident=plot_id)
    if units is not None and row.village_id not in units:
        raise Forbidden()
    return str(row.code)


def get_plot(*, session: Session, plot_id: int, units: frozenset[int] | None = None) -> PlotRecord:
    """The plot with ``plot_id`` (retired or not).

    Raises:
        NotFound: no plot has ``plot_id``.
        Forbidden: the plot lies outside the caller's scope ``units``.
    """
    check_plot_visible(session, plot_id, units)
    row = session.execute(_select_plots().where(Plot.id == plot_id)).one()
    return _record(row)
