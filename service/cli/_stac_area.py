"""Options of ``skyground ingest satellite --source stac``: the area and the dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from ingest.satellite.sources._area import Bbox, admin_unit_bbox, parse_bbox, plots_bbox
from models.errors import InvalidParameter

__all__ = ["StacRequest", "resolve_area"]


@dataclass(frozen=True)
class StacRequest:
    """What the command line asked for (validated by :meth:`dates` and :func:`resolve_area`)."""

    area: str | None
    plots: bool
    admin_unit: str | None
    start: str | None
    end: str | None
    max_cloud: float | None

    def dates(self) -> tuple[date, date]:
        """``--start`` and ``--end`` as dates (both required, start not after end).

        Raises:
            InvalidParameter: one is missing or malformed, or start is after end.
        """
        days = []
        for name, text in (("--start", self.start), ("--end", self.end)):
            try:
                days.append(datetime.strptime(text or "", "%Y-%m-%d").date())
            except ValueError:
                raise InvalidParameter(name=name, reason=text or "—") from None
        if days[0] > days[1]:
            raise InvalidParameter(name="--start/--end", reason=f"{self.start} > {self.end}")
        return days[0], days[1]


def resolve_area(engine: Engine, request: StacRequest) -> Bbox:
    """The search area (EPSG:4326) from exactly one of ``--area``, ``--plots``, ``--admin-unit``.

    Raises:
        InvalidParameter: none or several were given, or ``--area`` is malformed.
        NotFound: no current plots, or no unit with that code.
    """
    given = [request.area is not None, request.plots, request.admin_unit is not None]
    if sum(given) != 1:
        raise InvalidParameter(name="--area/--plots/--admin-unit", reason="exactly one")
    if request.area is not None:
        return parse_bbox(request.area)
    if request.plots:
        return plots_bbox(engine)
    return admin_unit_bbox(engine, str(request.admin_unit))
