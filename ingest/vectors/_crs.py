"""Coordinate reference systems of imported files: parsing, labels, Gauss–Krüger zones.

CGCS2000 Gauss–Krüger projections come in pairs that differ only in the false easting:
with the zone number prefixed to the easting (EPSG:4525, zone 37, false easting
37 500 000 m) or without (EPSG:4546, CM 111°E, false easting 500 000 m). Surveyors' files
often declare one and carry the other, so the eastings decide, and a contradiction between
the prefix and the central meridian is refused. Coordinates are easting first everywhere in
this module (GDAL's traditional GIS order; transforms use ``always_xy=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError

from ingest.errors import AxesSwapped, InvalidCrs, ZonePrefixMismatch
from ingest.summary import Note

__all__ = ["GkZone", "crs_label", "gk_zone", "parse_crs", "resolve_gk_prefix"]

# (first prefixed EPSG code, first unprefixed EPSG code, first zone, zone width in degrees,
# number of zones): CGCS2000 3° zones 25–45 and 6° zones 13–23.
_GK_FAMILIES = ((4513, 4534, 25, 3, 21), (4491, 4502, 13, 6, 11))
_PREFIX = 1_000_000.0  # one zone number in the easting
_NORTHING_MIN = 1_000_000.0  # China's northings: about 0.4e6 (Hainan) to 5.9e6 m
_NORTHING_MAX = 10_000_000.0


@dataclass(frozen=True)
class GkZone:
    """One CGCS2000 Gauss–Krüger projection and its partner with or without zone prefix."""

    epsg: int
    partner: int
    zone: int
    central_meridian: int
    prefixed: bool


def parse_crs(value: str) -> CRS:
    """A CRS from ``--crs`` text: ``EPSG:4546``, ``4546``, WKT or a PROJ string.

    Raises:
        InvalidCrs: the text names no CRS pyproj knows.
    """
    text = value.strip()
    try:
        return CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except (CRSError, ValueError) as exc:
        raise InvalidCrs(value=value, detail=str(exc)) from exc


def crs_label(crs: CRS) -> str:
    """``EPSG:NNNN`` when the CRS matches an EPSG entry well, else its name."""
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code is not None else str(crs.name)


def gk_zone(crs: CRS) -> GkZone | None:
    """The CGCS2000 Gauss–Krüger zone of ``crs``, or None when it is not one."""
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        return None
    for first_prefixed, first_plain, first_zone, width, count in _GK_FAMILIES:
        for base, prefixed in ((first_prefixed, True), (first_plain, False)):
            k = code - base
            if 0 <= k < count:
                partner = (first_plain if prefixed else first_prefixed) + k
                # Both families start at 75°E: zone 25 (3°) and zone 13 (6°).
                return GkZone(code, partner, first_zone + k, 75 + width * k, prefixed)
    return None


def resolve_gk_prefix(
    crs: CRS, xs: NDArray[np.float64], ys: NDArray[np.float64], *, path: str
) -> tuple[CRS, list[Note]]:
    """Pick the Gauss–Krüger variant the eastings actually use, or refuse a contradiction.

    Args:
        crs: CRS the file declares (or ``--crs``).
        xs: eastings in metres (first axis as GDAL returns it); NaN allowed.
        ys: northings in metres.
        path: file name for messages.

    Returns:
        The CRS to read with (maybe the partner EPSG code) and notes on any switch.

    Raises:
        ZonePrefixMismatch: eastings carry a zone prefix other than the CRS's zone.
        AxesSwapped: the first axis holds northings (northing-first coordinates).
    """
    zone = gk_zone(crs)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if zone is None or not finite.any():
        return crs, []
    x, y = xs[finite], ys[finite]
    x_northing = bool(((x >= _NORTHING_MIN) & (x < _NORTHING_MAX)).all())
    y_northing = bool(((y >= _NORTHING_MIN) & (y < _NORTHING_MAX)).all())
    if x_northing and not y_northing:
        raise AxesSwapped(path=path, crs=f"EPSG:{zone.epsg}", x=float(x[0]), y=float(y[0]))
    has_prefix = x >= _NORTHING_MAX
    if has_prefix.all():
        prefixes = {int(v) for v in np.floor(x / _PREFIX)}
        if len(prefixes) != 1 or prefixes != {zone.zone}:
            found = ", ".join(str(p) for p in sorted(prefixes))
            raise ZonePrefixMismatch(
                path=path,
                crs=f"EPSG:{zone.epsg}",
                found=found,
                zone=zone.zone,
                cm=zone.central_meridian,
            )
        if not zone.prefixed:
            note = Note(
                "import_note_zone_prefix",
                {
                    "declared": f"EPSG:{zone.epsg}",
                    "used": f"EPSG:{zone.partner}",
                    "zone": zone.zone,
                },
            )
            return CRS.from_epsg(zone.partner), [note]
        return crs, []
    if not has_prefix.any() and zone.prefixed:
        note = Note(
            "import_note_zone_no_prefix",
            {"declared": f"EPSG:{zone.epsg}", "used": f"EPSG:{zone.partner}", "zone": zone.zone},
        )
        return CRS.from_epsg(zone.partner), [note]
    if has_prefix.any() and not has_prefix.all():
        raise ZonePrefixMismatch(
            path=path,
            crs=f"EPSG:{zone.epsg}",
            found="mixed",
            zone=zone.zone,
            cm=zone.central_meridian,
        )
    return crs, []
