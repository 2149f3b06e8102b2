"""``/tiles/scenes``: PNG raster tiles of a scene's index and true-colour COGs, and TileJSON.

Only these two routes are served: no titiler factory, no statistics/point/preview routes and
no ``url`` parameter. The scene id and layer name are looked up in ``raster_assets``; the file
comes from that row (see :mod:`tiles.layers`).
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from models.queries.common import MAX_BIGINT
from service.deps import SessionDep, SettingsDep
from service.routers._common import language_query, not_found
from tiles.layers import LAYER_NAME_PATTERN, scene_layer
from tiles.raster import PNG_MEDIA_TYPE, raster_info, render_tile
from tiles.vector import check_tile

__all__ = ["RasterTileJSON", "router"]

router = APIRouter(prefix="/tiles/scenes", tags=["tiles"], dependencies=[Depends(language_query)])

_NOT_FOUND = not_found("No raster of that scene and layer (the same body for either).")

SceneId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="Scene id (`/api/scenes`).")]
Layer = Annotated[
    str,
    Path(
        pattern=LAYER_NAME_PATTERN,
        description="Index name or alias from `/api/indices` (e.g. NDVI, NDRE), or `truecolor`.",
    ),
]


class RasterTileJSON(BaseModel):
    """TileJSON 3.0.0 of one scene layer (the fields MapLibre and QGIS read)."""

    tilejson: str = Field(default="3.0.0", description="TileJSON version.")
    name: str = Field(description="Scene id and canonical layer name, e.g. `12/NDVI`.")
    tiles: list[str] = Field(description="URL template of the PNG tiles (XYZ, Web Mercator).")
    scheme: str = Field(default="xyz", description="Row numbering: y down from the north.")
    minzoom: int = Field(
        description=(
            "Zoom of the COG's coarsest overview, or the plots' minimum zoom when shallower "
            "(a small clip still shows under its plots)."
        )
    )
    maxzoom: int = Field(description="Zoom nearest the COG's native resolution.")
    bounds: list[float] = Field(description="West, south, east, north in degrees (EPSG:4326).")
    center: list[float] = Field(description="Longitude, latitude (degrees) and zoom.")


@router.get(
    "/{scene_id}/{index}/{z}/{x}/{y}.png",
    summary="PNG tile of a scene's index or true-colour raster",
    response_class=Response,
    responses={200: {"content": {PNG_MEDIA_TYPE: {}}}, **_NOT_FOUND},
)
def scene_tile(
    session: SessionDep,
    settings: SettingsDep,
    scene_id: SceneId,
    index: Layer,
    z: Annotated[int, Path(description="Zoom level (Web Mercator XYZ).")],
    x: Annotated[int, Path(description="Column, 0 at 180°W.")],
    y: Annotated[int, Path(description="Row, 0 at the north edge.")],
) -> Response:
    """256 × 256 RGBA PNG; transparent where the raster has no data or does not reach."""
    tiles = settings.tiles
    check_tile(z, x, y, max_zoom=tiles.max_zoom)
    found = scene_layer(
        session=session, scene_id=scene_id, name=index, store=settings.db.raster_store
    )
    content = render_tile(
        path=found.path,
        z=z,
        x=x,
        y=y,
        kind=found.kind,
        scale=found.scale,
        offset=found.offset,
        nodata=found.nodata,
        colormap=found.colormap,
    )
    return Response(
        content=content,
        media_type=PNG_MEDIA_TYPE,
        headers={"Cache-Control": f"private, max-age={tiles.cache_seconds}"},
    )


@router.get(
    "/{scene_id}/{index}/tilejson.json",
    summary="TileJSON of a scene's index or true-colour raster",
    responses=_NOT_FOUND,
)
def scene_tilejson(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scene_id: SceneId,
    index: Layer,
) -> RasterTileJSON:
    """URL template, bounds and zoom range of one scene layer, read from its COG."""
    found = scene_layer(
        session=session, scene_id=scene_id, name=index, store=settings.db.raster_store
    )
    info = raster_info(found.path)
    maxzoom = min(info.maxzoom, settings.tiles.max_zoom)
    # rio-tiler renders any zoom from the overviews; a small clip's own minzoom (13 for 640 m)
    # would hide it at the zooms where its plots are drawn.
    minzoom = min(info.minzoom, settings.tiles.plots_min_zoom, maxzoom)
    template = str(
        request.url_for(
            "scene_tile", scene_id=str(scene_id), index=found.kind, z="{z}", x="{x}", y="{y}"
        )
    )
    template = template.replace("%7B", "{").replace("%7D", "}")
    west, south, east, north = info.bounds
    return RasterTileJSON(
        name=f"{scene_id}/{found.kind}",
        tiles=[template],
        minzoom=minzoom,
        maxzoom=maxzoom,
        bounds=[west, south, east, north],
        center=[(west + east) / 2, (south + north) / 2, minzoom],
    )
