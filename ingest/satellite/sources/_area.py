"""The area a STAC search covers: a bounding box given, or the extent of plots or a unit."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from models.errors import InvalidParameter, NotFound
from models.tables import AdminUnit, Plot

__all__ = ["Bbox", "admin_unit_bbox", "parse_bbox", "plots_bbox"]

Bbox = tuple[float, float, float, float]


def parse_bbox(text: str) -> Bbox:
    """``west,south,east,north`` in degrees (EPSG:4326).

    Raises:
        InvalidParameter: not four numbers, out of range or empty.
    """
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidParameter(name="--area", reason=text) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidParameter(name="--area", reason=text)
    return west, south, east, north


def _extent(engine: Engine, statement: object, what: str, ident: str) -> Bbox:
    with engine.connect() as conn:
        row = conn.execute(statement).one()  # type: ignore[call-overload]
    if row[0] is None:
        raise NotFound(kind=what, ident=ident)
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def plots_bbox(engine: Engine) -> Bbox:
    """The bounding box (EPSG:4326) of every current (not retired) plot.

    Raises:
        NotFound: there is no current plot.
    """
    extent = func.ST_Extent(Plot.geom)
    statement = select(
        func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent)
    ).where(Plot.retired_at.is_(None))
    return _extent(engine, statement, "@kind_plot", "*")


def admin_unit_bbox(engine: Engine, code: str) -> Bbox:
    """The bounding box (EPSG:4326) of the administrative unit ``code``.

    Raises:
        NotFound: no unit has that code.
    """
    extent = func.ST_Extent(AdminUnit.geom)
    statement = select(
        func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent)
    ).where(AdminUnit.code == code)
    return _extent(engine, statement, "@kind_admin_unit", code)
