"""Colormaps and legends of index rasters, declared once for ingest, tiles and the web map.

A colormap is a list of stops in index units (e.g. NDVI 0.3 → pale yellow), linearly
interpolated in RGB and clamped outside the first and last stop, plus a no-data colour that no
ramp uses. :meth:`Colormap.lut` turns it into the 256-entry table rio-tiler takes as
``colormap=``: entry 0 is no data and entries 1–255 cover the display range, so a tile renders
by rescaling index values from ``Colormap.display_range`` to 1–255 and masked pixels to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.i18n import t

__all__ = ["RGBA", "ColorStop", "Colormap", "Legend", "hex_to_rgba"]

RGBA = tuple[int, int, int, int]


def hex_to_rgba(color: str) -> RGBA:
    """``#rrggbb`` or ``#rrggbbaa`` as an (r, g, b, a) tuple of 0–255 integers."""
    text = color.removeprefix("#")
    if len(text) not in (6, 8):
        raise ValueError(f"colour {color!r} is not #rrggbb or #rrggbbaa")
    values = [int(text[i : i + 2], 16) for i in range(0, len(text), 2)]
    if len(values) == 3:
        values.append(255)
    return (values[0], values[1], values[2], values[3])


@dataclass(frozen=True)
class ColorStop:
    """One stop of a ramp: an index value (unitless) and the colour shown there."""

    value: float
    color: str

    @property
    def rgba(self) -> RGBA:
        """The colour as an (r, g, b, a) tuple."""
        return hex_to_rgba(self.color)


@dataclass(frozen=True)
class Colormap:
    """A colour ramp over index values with a distinct no-data colour.

    Attributes:
        name: identifier of the ramp, e.g. ``vegetation``.
        stops: at least two stops with strictly increasing values.
        nodata: colour of pixels without a valid value (cloud, shadow, outside the scene).
    """

    name: str
    stops: tuple[ColorStop, ...]
    nodata: str = "#a0a0a080"

    def __post_init__(self) -> None:
        values = [s.value for s in self.stops]
        if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(f"colormap {self.name!r} needs two or more increasing stops")

    @property
    def display_range(self) -> tuple[float, float]:
        """Values of the first and last stop: what the ramp spans."""
        return (self.stops[0].value, self.stops[-1].value)

    @property
    def nodata_rgba(self) -> RGBA:
        """The no-data colour as an (r, g, b, a) tuple."""
        return hex_to_rgba(self.nodata)

    def rgba(self, value: float) -> RGBA:
        """The colour of one index value (linear in RGB between stops, clamped at the ends)."""
        if value != value:  # NaN
            return self.nodata_rgba
        stops = self.stops
        if value <= stops[0].value:
            return stops[0].rgba
        for low, high in zip(stops, stops[1:], strict=False):
            if value <= high.value:
                f = (value - low.value) / (high.value - low.value)
                a, b = low.rgba, high.rgba
                r, g, bl, al = (round(a[i] + f * (b[i] - a[i])) for i in range(4))
                return (r, g, bl, al)
        return stops[-1].rgba

    def lut(self) -> dict[int, RGBA]:
        """256-entry table for rio-tiler: 0 is no data, 1–255 span :attr:`display_range`."""
        low, high = self.display_range
        table = {0: self.nodata_rgba}
        for i in range(1, 256):
            table[i] = self.rgba(low + (i - 1) / 254 * (high - low))
        return table


@dataclass(frozen=True)
class Legend:
    """What a map legend shows for one index.

    Attributes:
        title_key: catalogue key of the index's name.
        low_key: catalogue key describing the low end (e.g. "bare or sparse").
        high_key: catalogue key describing the high end (e.g. "dense canopy").
        colormap: the ramp whose stops the legend lists.
        nodata_key: catalogue key of the no-data entry.
    """

    title_key: str
    low_key: str
    high_key: str
    colormap: Colormap
    nodata_key: str = "legend_nodata"

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """JSON-ready legend in ``lang`` (default zh-CN): title, stops, no-data entry."""
        stops = self.colormap.stops
        entries = []
        for i, stop in enumerate(stops):
            label = None
            if i == 0:
                label = t(self.low_key, lang)
            elif i == len(stops) - 1:
                label = t(self.high_key, lang)
            entries.append({"value": stop.value, "color": stop.color, "label": label})
        return {
            "title": t(self.title_key, lang),
            "stops": entries,
            "nodata": {"color": self.colormap.nodata, "label": t(self.nodata_key, lang)},
        }
