"""``/tiles``: vector tiles of plots (MVT) and their TileJSON."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import func, select

from models.queries.common import MAX_BIGINT
from models.tables import Plot
from service.auth import UnitIdsDep
from service.deps import SessionDep, SettingsDep
from service.routers._common import ERROR_RESPONSES, language_query
from tiles.vector import check_scene, check_tile, plots_tile

__all__ = ["router"]

router = APIRouter(prefix="/tiles", tags=["tiles"], dependencies=[Depends(language_query)])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

PLOT_FIELDS = {
    "code": "String",
    "name": "String",
    "village": "String",
    "area_mu": "Number",
    "ndvi": "Number (latest clear mean, or the chosen scene's; one such field per index)",
    "ndvi_date": "String (local date of that value)",
    "ndvi_flag": "String (with scene_id: why that scene's observation is flagged)",
}


@router.get(
    "/plots/{z}/{x}/{y}.mvt",
    summary="Vector tile of plots with their latest (or one scene's) index values",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, **ERROR_RESPONSES},
)
def plot_tile(
    session: SessionDep,
    settings: SettingsDep,
    z: Annotated[int, Path(description="Zoom level (Web Mercator XYZ).")],
    x: Annotated[int, Path(description="Column, 0 at 180°W.")],
    y: Annotated[int, Path(description="Row, 0 at the north edge.")],
    scene_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_BIGINT,
            description="Values of this scene's date (`/api/scenes`) instead of the latest.",
        ),
    ] = None,
    units: UnitIdsDep = None,
) -> Response:
    """One MVT tile (layer ``plots``); empty above the plots' minimum zoom.

    A scoped caller gets only the plots of their units; tiles are cached privately by the
    browser (never by shared caches), as they differ between callers.
    """
    tiles = settings.tiles
    content = b""
    if z >= tiles.plots_min_zoom:
        content = plots_tile(
            session=session,
            z=z,
            x=x,
            y=y,
            max_zoom=tiles.max_zoom,
            timezone=settings.region.timezone,
            scene_id=scene_id,
            units=units,
        )
    else:
        # Validate all the same, so a bad address is refused at every zoom.
        check_tile(z, x, y, max_zoom=tiles.max_zoom)
        check_scene(session, scene_id)
    return Response(
        content=content,
        media_type=MVT_MEDIA_TYPE,
        headers={
            "Cache-Control": f"private, max-age={tiles.cache_seconds}",
            "Vary": "Cookie, X-API-Key, Authorization",
        },
    )


@router.get("/plots.json", summary="TileJSON of the plot vector tiles")
def plot_tilejson(request: Request, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """TileJSON 3.0 for MapLibre and QGIS: URL template, zooms, bounds and fields."""
    box = select(func.ST_Extent(Plot.geom).label("box")).where(Plot.retired_at.is_(None)).subquery()
    row = session.execute(
        select(
            func.ST_XMin(box.c.box),
            func.ST_YMin(box.c.box),
            func.ST_XMax(box.c.box),
            func.ST_YMax(box.c.box),
        )
    ).one()
    bounds = [-180.0, -85.0511, 180.0, 85.0511]
    if row[0] is not None:
        bounds = [float(v) for v in row]
    template = str(request.url_for("plot_tile", z="{z}", x="{x}", y="{y}"))
    template = template.replace("%7B", "{").replace("%7D", "}")
    return {
        "tilejson": "3.0.0",
        "name": "plots",
        "tiles": [template],
        "minzoom": settings.tiles.plots_min_zoom,
        "maxzoom": settings.tiles.max_zoom,
        "bounds": bounds,
        "vector_layers": [{"id": "plots", "fields": PLOT_FIELDS}],
    }
