"""Coordinate-list CSV files: one row per boundary point, or one row per feature with WKT.

Chinese surveying lists Gauss–Krüger coordinates northing first: ``X`` (纵坐标) is the
northing and ``Y`` (横坐标) the easting. Columns named northing/easting (or 纵坐标/横坐标)
say so themselves; plain X/Y follow ``--xy-order`` or, without it, the magnitudes (a
northing in China is 1e6–1e7 m, an easting below 1e6 m or, with a zone prefix, above 1e7 m),
and the choice is reported. Every value is read as text first, so codes keep their digits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon

from ingest._fields import normalise
from ingest.errors import CsvColumnsMissing, EncodingUndetected, XyOrderUndetected
from ingest.summary import Note
from ingest.vectors._encoding import check_codec, detect_encoding

__all__ = ["CsvResult", "XY_ORDERS", "read_coordinate_csv"]

XY_ORDERS = ("north-east", "east-north")

_WKT = ("wkt", "geometry", "geom")
_NORTH = ("northing", "north", "纵坐标", "x坐标(纵)")
_EAST = ("easting", "east", "横坐标", "y坐标(横)")
_X = ("x", "x坐标")
_Y = ("y", "y坐标")
_ORDER = ("point_order", "order", "seq", "point", "pt", "点号", "序号", "界址点号")
_RING = ("ring", "part", "圈号", "环号")


@dataclass
class CsvResult:
    """A CSV read into features in its own CRS, with what was decided on the way.

    ``problems`` maps a 0-based feature position to the reasons found while parsing.
    """

    frame: gpd.GeoDataFrame
    encoding: str
    encoding_origin: str
    notes: list[Note]
    problems: dict[int, list[Note]]


def _find(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in columns:
            return columns[name]
    return None


def _decode(path: Path, encoding: str | None) -> tuple[str, str, str]:
    data = path.read_bytes()
    if encoding is not None:
        name = check_codec(encoding)
        return data.decode(name, errors="strict"), name, "override"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    detected = detect_encoding([data])
    if detected is None:
        raise EncodingUndetected(path=path.name)
    return data.decode("UTF-8" if detected == "ASCII" else detected), detected, "detected"


def _xy_order(
    x: pd.Series, y: pd.Series, crs: CRS, option: str | None, *, path: str
) -> tuple[bool, Note]:
    """Whether X is the northing, and a note saying how that was decided."""
    if option is not None:
        return option == "north-east", Note("import_note_xy_order_option", {"order": option})
    xs, ys = x.dropna().to_numpy(float), y.dropna().to_numpy(float)

    def northing(v: np.ndarray) -> bool:
        return bool(((v >= 1e6) & (v < 1e7)).all())

    def easting(v: np.ndarray) -> bool:
        return bool(((v < 1e6) | (v >= 1e7)).all())

    if crs.is_geographic:
        x_north = bool((np.abs(xs) <= 90).all() and (np.abs(ys) > 90).any())
        x_east = bool((np.abs(ys) <= 90).all() and (np.abs(xs) > 90).any())
    else:
        x_north, x_east = northing(xs) and easting(ys), easting(xs) and northing(ys)
    if x_north == x_east:
        raise XyOrderUndetected(path=path)
    order = "north-east" if x_north else "east-north"
    return x_north, Note("import_note_xy_order_detected", {"order": order})


def _rings_to_geometry(rings: list[np.ndarray]) -> MultiPolygon:
    """Largest rings become shells; a ring inside a shell becomes its hole."""
    polys = sorted((Polygon(r) for r in rings), key=lambda p: p.area, reverse=True)
    shells: list[tuple[Polygon, list[Polygon]]] = []
    for poly in polys:
        for shell, holes in shells:
            if shell.contains(poly.representative_point()):
                holes.append(poly)
                break
        else:
            shells.append((poly, []))
    return MultiPolygon(
        [Polygon(s.exterior.coords, [h.exterior.coords for h in holes]) for s, holes in shells]
    )


def read_coordinate_csv(
    path: Path,
    *,
    crs: CRS,
    code_names: tuple[str, ...],
    encoding: str | None = None,
    xy_order: str | None = None,
) -> CsvResult:
    """Read a coordinate-list or WKT CSV into polygons in ``crs`` (not reprojected).

    Args:
        path: the CSV file.
        crs: CRS of the coordinates (``--crs``; CSV declares none).
        code_names: candidate names of the code column, normalised, best first.
        encoding: text encoding; detected (UTF-8, then GB18030) when None.
        xy_order: ``north-east`` (X is the northing) or ``east-north``; None to detect.

    Raises:
        CsvColumnsMissing: no code column, or neither WKT nor coordinate columns.
        XyOrderUndetected: X/Y columns whose magnitudes do not tell the order.
    """
    text, used, origin = _decode(path, encoding)
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    table.columns = [str(c).strip() for c in table.columns]
    columns = {normalise(c): c for c in table.columns}
    code = _find(columns, code_names)
    if code is None:
        raise CsvColumnsMissing(path=path.name, columns="code", found=", ".join(table.columns))
    notes: list[Note] = []
    problems: dict[int, list[Note]] = {}
    wkt = _find(columns, _WKT)
    if wkt is not None:
        geoms = shapely.from_wkt(table[wkt].to_numpy(object), on_invalid="ignore")
        for pos, (value, geom) in enumerate(zip(table[wkt], geoms, strict=True)):
            if geom is None and value.strip():
                problems[pos] = [Note("import_problem_bad_wkt", {"row": pos + 2})]
        frame = gpd.GeoDataFrame(table.drop(columns=[wkt]), geometry=list(geoms), crs=crs)
        return CsvResult(frame, used, origin, notes, problems)

    north, east = _find(columns, _NORTH), _find(columns, _EAST)
    if north is not None and east is not None:
        notes.append(Note("import_note_xy_order_columns", {"north": north, "east": east}))
    else:
        x, y = _find(columns, _X), _find(columns, _Y)
        if x is None or y is None:
            raise CsvColumnsMissing(
                path=path.name,
                columns="wkt | northing,easting | X,Y",
                found=", ".join(table.columns),
            )
        x_is_north, note = _xy_order(
            pd.to_numeric(table[x], errors="coerce"),
            pd.to_numeric(table[y], errors="coerce"),
            crs,
            xy_order,
            path=path.name,
        )
        north, east = (x, y) if x_is_north else (y, x)
        notes.append(note)
    order, ring = _find(columns, _ORDER), _find(columns, _RING)
    if order is None:
        notes.append(Note("import_note_csv_file_order"))

    northing = pd.to_numeric(table[north], errors="coerce").to_numpy(float)
    easting = pd.to_numeric(table[east], errors="coerce").to_numpy(float)
    sequence = (
        pd.to_numeric(table[order], errors="coerce").to_numpy(float)
        if order is not None
        else np.arange(len(table), dtype=float)
    )
    ring_ids = table[ring].to_numpy(object) if ring is not None else np.zeros(len(table), object)
    keys = table[code].str.strip()
    coordinate_columns = {c for c in (north, east, order, ring) if c is not None}
    attributes = [c for c in table.columns if c not in coordinate_columns]

    records: list[dict[Any, object]] = []
    geometries: list[MultiPolygon | None] = []
    for pos, (_, rows) in enumerate(table.groupby(keys, sort=False)):
        index = rows.index.to_numpy()
        records.append(rows.iloc[0][attributes].to_dict())
        bad = index[~(np.isfinite(northing[index]) & np.isfinite(easting[index]))]
        if len(bad):
            rows_text = ", ".join(str(i + 2) for i in bad[:5])
            problems.setdefault(pos, []).append(
                Note("import_problem_csv_coordinate", {"row": rows_text})
            )
            geometries.append(None)
            continue
        rings: list[np.ndarray] = []
        for ring_id in pd.unique(ring_ids[index]):
            members = index[ring_ids[index] == ring_id]
            members = members[np.argsort(sequence[members], kind="stable")]
            points = np.column_stack([easting[members], northing[members]])
            if len(points) > 1 and (points[0] == points[-1]).all():
                points = points[:-1]
            if len(points) < 3:
                problems.setdefault(pos, []).append(
                    Note("import_problem_few_points", {"row": int(members[0]) + 2})
                )
                continue
            rings.append(points)
        geometries.append(_rings_to_geometry(rings) if rings and pos not in problems else None)
    frame = gpd.GeoDataFrame(records, geometry=geometries, crs=crs)
    return CsvResult(frame, used, origin, notes, problems)
