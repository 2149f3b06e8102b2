"""Vector tiles (Mapbox Vector Tile) of plots, built in PostGIS with ``ST_AsMVT``.

Tiles use the Web Mercator tile matrix (EPSG:3857, XYZ numbering, y down from the north).
Each plot feature has its id, code, name, village, area in 亩 (half up, 2 decimals) and,
per index with a clear observation, the latest mean and its local date; for a chosen scene,
the means of that scene's date instead, with the flag reason where the observation is
flagged.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.queries.common import InvalidParameterValue
from models.tables import Scene

__all__ = ["EXTENT", "check_scene", "check_tile", "plots_tile"]

EXTENT: Final = 4096
BUFFER: Final = 64


@cache
def _sql(name: str) -> str:
    return resources.files("tiles.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def check_tile(z: int, x: int, y: int, *, max_zoom: int) -> None:
    """Refuse tile addresses outside the matrix before any SQL runs (PostGIS would raise)."""
    if not 0 <= z <= max_zoom:
        raise InvalidParameterValue(name="z", value=z, reason="@reason_tile_zoom", maximum=max_zoom)
    size = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < size:
            raise InvalidParameterValue(
                name=name, value=value, reason="@reason_tile_index", maximum=size - 1
            )


def check_scene(session: Session, scene_id: int | None) -> None:
    """Refuse a ``scene_id`` that names no scene (``None`` means the latest values)."""
    if scene_id is None:
        return
    if session.scalar(select(Scene.id).where(Scene.id == scene_id)) is None:
        raise NotFound(kind="@kind_scene", ident=scene_id)


def plots_tile(
    *,
    session: Session,
    z: int,
    x: int,
    y: int,
    max_zoom: int,
    timezone: str,
    scene_id: int | None = None,
    units: frozenset[int] | None = None,
) -> bytes:
    """The MVT of current plots in tile ``z/x/y`` (empty bytes when none are there).

    Raises:
        InvalidParameterValue: ``z/x/y`` outside the tile matrix.
        NotFound: ``scene_id`` names no scene.
    """
    check_tile(z, x, y, max_zoom=max_zoom)
    check_scene(session, scene_id)
    params = {
        "scene_id": scene_id,
        # The caller's scope: plots whose village is one of these ids (NULL: every plot).
        "units": None if units is None else sorted(units),
        "z": z,
        "x": x,
        "y": y,
        "extent": EXTENT,
        "buffer": BUFFER,
        "margin": BUFFER / EXTENT,
        "timezone": timezone,
    }
    tile = session.execute(text(_sql("plots_mvt")), params).scalar()
    return bytes(tile) if tile else b""
