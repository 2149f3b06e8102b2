"""Tianditu (天地图) basemap: WMTS raster sources for the web map and the hosts they use.

Tianditu serves Web Mercator tiles (tile matrix set ``w``) from eight hosts,
``t0``–``t7.tianditu.gov.cn``, with the key in the ``tk`` query parameter. Its keys are browser
keys: the browser sends the key with every tile request, so the page has to carry it.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from pydantic import SecretStr

__all__ = ["ATTRIBUTION", "HOSTS", "LAYERS", "raster_sources"]

#: Origins of the tile hosts, for the Content-Security-Policy.
HOSTS: Final = tuple(f"https://t{n}.tianditu.gov.cn" for n in range(8))
#: Data source name shown in the map's attribution (a name, not UI text).
ATTRIBUTION: Final = "© 天地图 Tianditu"
#: Imagery, then its annotation (place names) drawn over it.
LAYERS: Final = ("img", "cia")
#: Deepest zoom of both layers in the ``w`` tile matrix set.
MAX_ZOOM: Final = 18


def _tile_url(host: str, layer: str, key: str) -> str:
    # MapLibre fills {z}/{x}/{y}; WMTS TILEROW counts from the north, like XYZ.
    return (
        f"{host}/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={quote(key, safe='')}"
    )


def raster_sources(key: SecretStr) -> dict[str, dict[str, object]]:
    """MapLibre raster sources ``tianditu-img`` and ``tianditu-cia``, bottom first.

    Args:
        key: The Tianditu browser key; it ends up in every tile URL.

    Returns:
        Source id → MapLibre raster source (256-pixel Web Mercator tiles, zoom 0–18).
    """
    secret = key.get_secret_value()
    return {
        f"tianditu-{layer}": {
            "type": "raster",
            "tiles": [_tile_url(host, layer, secret) for host in HOSTS],
            "tileSize": 256,
            "maxzoom": MAX_ZOOM,
            "attribution": ATTRIBUTION,
        }
        for layer in LAYERS
    }
