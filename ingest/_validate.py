"""Checks every feature before anything is written; problems name the feature and reason.

All geometries here are EPSG:4326 longitude/latitude in degrees, 2D.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from ingest.errors import FeatureProblem
from ingest.summary import Note
from models.settings import ServiceArea

__all__ = ["check_codes", "check_geometries", "problems_from_notes", "to_multipolygon"]


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def _in_range(minx: float, miny: float, maxx: float, maxy: float) -> bool:
    return -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90


def _inside(area: ServiceArea, minx: float, miny: float, maxx: float, maxy: float) -> bool:
    return area.contains(minx, miny) and area.contains(maxx, maxy)


def _geometry_reason(geom: BaseGeometry | None, area: ServiceArea | None) -> Note | None:
    """The first thing wrong with one geometry, or None."""
    if geom is None:
        return Note("import_problem_no_geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return Note("import_problem_geometry_type", {"type": geom.geom_type})
    if geom.is_empty:
        return Note("import_problem_empty")
    minx, miny, maxx, maxy = geom.bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return Note("import_problem_transform_failed")
    lonlat = {"lon": _fmt(minx), "lat": _fmt(miny)}
    swapped_ok = _in_range(miny, minx, maxy, maxx) and (
        area is None or _inside(area, miny, minx, maxy, maxx)
    )
    if not _in_range(minx, miny, maxx, maxy):
        return Note(
            "import_problem_swapped" if swapped_ok else "import_problem_out_of_range", lonlat
        )
    if area is not None and not _inside(area, minx, miny, maxx, maxy):
        if swapped_ok:
            return Note("import_problem_swapped", lonlat)
        box = f"{area.west},{area.south},{area.east},{area.north}"
        return Note("import_problem_outside_area", {**lonlat, "area": box})
    if not geom.is_valid:
        return Note("import_problem_invalid", {"reason": shapely.is_valid_reason(geom)})
    return None


def check_geometries(
    geoms: Sequence[BaseGeometry | None],
    *,
    area: ServiceArea | None,
    skip: set[int],
) -> dict[int, Note]:
    """Reasons by 0-based position for geometries that cannot be stored.

    Args:
        geoms: geometries in EPSG:4326.
        area: service area box, or None to accept anywhere on Earth.
        skip: positions already rejected while reading.
    """
    reasons: dict[int, Note] = {}
    for pos, geom in enumerate(geoms):
        if pos in skip:
            continue
        reason = _geometry_reason(geom, area)
        if reason is not None:
            reasons[pos] = reason
    return reasons


def check_codes(codes: Sequence[str | None], *, max_length: int) -> dict[int, Note]:
    """Missing, too long and duplicate codes by 0-based position (later duplicates flagged)."""
    reasons: dict[int, Note] = {}
    first: dict[str, int] = {}
    for pos, code in enumerate(codes):
        if code is None:
            reasons[pos] = Note("import_problem_no_code")
        elif len(code) > max_length:
            reasons[pos] = Note("import_problem_code_too_long", {"max": max_length})
        elif code in first:
            reasons[pos] = Note("import_problem_duplicate_code", {"first": first[code] + 1})
        else:
            first[code] = pos
    return reasons


def problems_from_notes(
    reasons: dict[int, list[Note]], codes: Sequence[str | None]
) -> list[FeatureProblem]:
    """FeatureProblems (1-based index, code) from reasons by 0-based position."""
    return [
        FeatureProblem(pos + 1, codes[pos] if pos < len(codes) else None, note.key, note.params)
        for pos, notes in sorted(reasons.items())
        for note in notes
    ]


def to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """A checked Polygon or MultiPolygon as a 2D MultiPolygon."""
    flat = shapely.force_2d(geom)
    if isinstance(flat, Polygon):
        return MultiPolygon([flat])
    assert isinstance(flat, MultiPolygon)
    return flat
