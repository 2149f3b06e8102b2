"""What every query shares: bounding boxes, pages, LIKE escaping and parameter errors.

Coordinates are longitude/latitude in degrees (EPSG:4326, x first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from models.errors import InvalidParameter
from models.i18n import t

__all__ = [
    "GEOJSON_DIGITS",
    "LIKE_ESCAPE",
    "MAX_BIGINT",
    "BBox",
    "InvalidParameterValue",
    "Page",
    "check_text",
    "check_window",
    "escape_like",
]

T = TypeVar("T")

#: Decimal places of GeoJSON positions: 1e-7° is ~1.1 cm, so rounding moves a vertex < 6 mm.
GEOJSON_DIGITS: Final = 7
#: Largest value of a PostgreSQL ``bigint`` (ids, offsets); larger numbers never reach SQL.
MAX_BIGINT: Final = 2**63 - 1
#: Escape character of the LIKE patterns built by :func:`escape_like`.
LIKE_ESCAPE: Final = "!"
_SHOWN_CHARS: Final = 80


class InvalidParameterValue(InvalidParameter):
    """A parameter's value is malformed; the message shows the value and why it is refused.

    ``reason`` is a ``@key`` of the catalogue, rendered with the other parameters (``name``,
    ``value`` and any extra ones such as ``maximum``).
    """

    key = "error_invalid_parameter_value"

    def __init__(self, *, name: str, value: object, reason: str, **extra: object) -> None:
        shown = str(value)
        if len(shown) > _SHOWN_CHARS:
            shown = shown[:_SHOWN_CHARS] + "…"
        super().__init__(name=name, value=shown, reason=reason, **extra)

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang``, with the reason rendered from its own key."""
        fields = {k: v for k, v in self.params.items() if k != "reason"}
        reason = str(self.params["reason"])
        if reason.startswith("@"):
            reason = t(reason[1:], lang, **fields)
        return t(self.key, lang, **fields, reason=reason)


@dataclass(frozen=True, slots=True)
class BBox:
    """A longitude/latitude box in EPSG:4326 degrees; west < east, south < north.

    Boxes across the antimeridian are refused (Anhua is far from it).
    """

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        _check_bbox((self.west, self.south, self.east, self.north), self.as_text())

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Read ``west,south,east,north``; raise :class:`InvalidParameterValue` naming ``bbox``."""
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidParameterValue(name="bbox", value=text, reason="@reason_bbox_four")
        try:
            west, south, east, north = (float(p.strip()) for p in parts)
        except ValueError:
            raise InvalidParameterValue(
                name="bbox", value=text, reason="@reason_bbox_four"
            ) from None
        _check_bbox((west, south, east, north), text)  # names the value as the client sent it
        return cls(west, south, east, north)

    def as_text(self) -> str:
        """``west,south,east,north`` as a client would send it."""
        return f"{self.west},{self.south},{self.east},{self.north}"


def _check_bbox(coords: tuple[float, float, float, float], shown: str) -> None:
    west, south, east, north = coords
    if not all(math.isfinite(c) for c in coords):
        raise InvalidParameterValue(name="bbox", value=shown, reason="@reason_bbox_finite")
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidParameterValue(name="bbox", value=shown, reason="@reason_bbox_range")
    if not (west < east and south < north):
        raise InvalidParameterValue(name="bbox", value=shown, reason="@reason_bbox_order")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: the items and how many match the filters in total."""

    items: list[T]
    number_matched: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        """Whether rows follow this page."""
        return self.offset + len(self.items) < self.number_matched


def escape_like(text: str) -> str:
    """``text`` with LIKE wildcards escaped by :data:`LIKE_ESCAPE` (use ``escape=LIKE_ESCAPE``)."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def check_text(name: str, value: str | None) -> str | None:
    """Refuse text PostgreSQL cannot hold (NUL) before it reaches SQL; returns ``value``."""
    if value is not None and "\x00" in value:
        raise InvalidParameterValue(
            name=name, value=value.replace("\x00", "\\0"), reason="@reason_nul"
        )
    return value


def check_window(*, limit: int, offset: int) -> None:
    """Refuse a page window SQL would choke on (limit < 1, offset < 0 or past bigint)."""
    if not 1 <= limit <= MAX_BIGINT:
        raise InvalidParameterValue(name="limit", value=limit, reason="@reason_positive")
    if not 0 <= offset <= MAX_BIGINT:
        raise InvalidParameterValue(name="offset", value=offset, reason="@reason_offset")
