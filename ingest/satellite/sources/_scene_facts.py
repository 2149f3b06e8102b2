"""What a catalogue item says about its scene, and the folder manifest that carries it to ingest.

STAC APIs and the Sentinel Hub Catalog API describe a Sentinel-2 L2A item with different keys.
:func:`item_facts` reads one item's platform, relative orbit, MGRS tile and cloud cover from its
properties first (``platform``, ``sat:relative_orbit``, ``s2:mgrs_tile`` / ``grid:code`` /
``mgrs:*`` / ``sentinel:*`` and ``eo:cloud_cover``), then from the ESA product name
(``S2B_MSIL2A_<time>_N0510_R022_T49RFL_<time>``, in ``s2:product_uri`` or
``sentinel:product_id``) and last from the item id (which Planetary Computer, Sentinel Hub and
Earth Search shape after that name). :func:`mosaic_facts` combines the items of one mosaic.

The facts are stored as the ``scene`` object of the folder's manifest (written last by
:func:`write_manifest`), which :func:`ingest.satellite._inputs.find_scenes` reads into the
``scenes`` row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ingest.satellite._inputs import MANIFEST_NAME, ManifestScene

__all__ = [
    "MANIFEST",
    "item_facts",
    "item_orbit",
    "item_platform",
    "item_tile",
    "mosaic_facts",
    "write_manifest",
]

MANIFEST: Final = MANIFEST_NAME
_NAME_KEYS: Final = ("s2:product_uri", "sentinel:product_id", "s2:product_id")
_TILE: Final = re.compile(r"^\d{2}[C-X][A-Z]{2}$")
# ESA product names and the ids derived from them: S2A_MSIL2A_..._R022_T32TNR_... and
# Earth Search's S2A_32TNR_20190723_0_L2A.
_PLATFORM_IN_NAME: Final = re.compile(r"^S2([A-D])_")
_ORBIT_IN_NAME: Final = re.compile(r"_R(\d{3})(?=_)")
_TILE_IN_NAME: Final = re.compile(
    r"_T(\d{2}[C-X][A-Z]{2})(?=[_.]|$)|^S2[A-D]_(\d{2}[C-X][A-Z]{2})_"
)


def _names(properties: Mapping[str, Any], item_id: str) -> list[str]:
    return [str(properties[k]) for k in _NAME_KEYS if properties.get(k)] + [item_id]


def item_platform(properties: Mapping[str, Any], item_id: str) -> str | None:
    """``sentinel-2a`` / ``-2b`` / ``-2c`` (lower case, as STAC recommends), or None."""
    value = str(properties.get("platform") or "").strip().lower().replace(" ", "-")
    if re.fullmatch(r"sentinel-2[a-d]", value):
        return value
    for name in _names(properties, item_id):
        if found := _PLATFORM_IN_NAME.match(name):
            return f"sentinel-2{found[1].lower()}"
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def item_orbit(properties: Mapping[str, Any], item_id: str) -> int | None:
    """The relative orbit number (1–143), or None."""
    value = _int(properties.get("sat:relative_orbit"))
    if value is not None:
        return value
    for name in _names(properties, item_id):
        if found := _ORBIT_IN_NAME.search(name):
            return int(found[1])
    return None


def item_tile(properties: Mapping[str, Any], item_id: str) -> str | None:
    """The MGRS tile, e.g. ``49RFL``, or None."""
    p = properties
    candidates = [p.get("s2:mgrs_tile"), str(p.get("grid:code") or "").removeprefix("MGRS-")]
    for prefix in ("mgrs:", "sentinel:"):
        zone = _int(p.get(f"{prefix}utm_zone"))
        if zone is not None:
            band, square = p.get(f"{prefix}latitude_band", ""), p.get(f"{prefix}grid_square", "")
            candidates.append(f"{zone:02d}{band}{square}")
    for candidate in candidates:
        tile = str(candidate or "").upper()
        tile = tile[1:] if tile.startswith("T") else tile  # "T49RFL" in names and some codes
        if _TILE.match(tile):
            return tile
    for name in _names(properties, item_id):
        if found := _TILE_IN_NAME.search(name):
            return found[1] or found[2]
    return None


def item_facts(properties: Mapping[str, Any], item_id: str) -> ManifestScene:
    """Platform, relative orbit, MGRS tile and ``eo:cloud_cover`` (%) of one item."""
    cloud = properties.get("eo:cloud_cover")
    return {
        "platform": item_platform(properties, item_id),
        "orbit": item_orbit(properties, item_id),
        "tile_id": item_tile(properties, item_id),
        "cloud_cover_pct": None if cloud is None else float(cloud),
    }


def mosaic_facts(facts: Sequence[ManifestScene]) -> ManifestScene:
    """The facts of a mosaic of several items (Sentinel Hub's one image per day).

    Platform, orbit and tile are kept where every item agrees and None otherwise; the cloud
    cover is the mean of the items' (MGRS tiles have one size, so it is that of their union).
    """

    def common(key: str) -> Any:
        values = {f.get(key) for f in facts}
        return values.pop() if len(values) == 1 else None

    clouds = [c for f in facts if (c := f.get("cloud_cover_pct")) is not None]
    return {
        "platform": common("platform"),
        "orbit": common("orbit"),
        "tile_id": common("tile_id"),
        "cloud_cover_pct": sum(clouds) / len(clouds) if clouds else None,
    }


def write_manifest(folder: Path, record: Mapping[str, Any]) -> None:
    """Write ``folder``'s manifest atomically (a folder with one is complete)."""
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / MANIFEST)
