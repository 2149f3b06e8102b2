"""One STAC item's window of the needed bands, fetched into a folder that local ingest reads.

:func:`fetch_item` downloads only the area's window of the bands the indices need (B02, B03,
B04, B05, B08, B11 and SCL, found under the asset keys of Planetary Computer, Earth Search v0
or Earth Search v1 through :data:`ASSET_ALIASES`) in the one-file-per-band layout
:func:`ingest.satellite._inputs.find_scenes` reads, plus ``MTD_MSIL2A.xml`` recording the BOA
offset decision (:mod:`._radiometry`), ``stac-item.json`` and ``download.json`` (the manifest,
written last, with the item's platform, orbit, tile and cloud cover for the ``scenes`` row:
:mod:`._scene_facts`). A folder with a manifest for the same item and area is complete and
is not fetched again.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
import pystac

from ingest.satellite._inputs import MTD_NAME
from ingest.satellite.sources._radiometry import decide_item_offset, mtd_xml
from ingest.satellite.sources._scene_facts import MANIFEST, item_facts, write_manifest
from ingest.satellite.sources.download import (
    AllowList,
    PlanetaryComputerSigner,
    download_whole,
    read_window,
    window_of,
)
from ingest.satellite.sources.settings import StacSettings

__all__ = [
    "ASSET_ALIASES",
    "ITEM_JSON",
    "REQUIRED",
    "FetchContext",
    "ItemUnusable",
    "fetch_item",
    "folder_name",
    "item_utc",
]

#: Sentinel-2 band → asset keys: Planetary Computer and Earth Search v0 (``B04``), Earth
#: Search v1 (``red``). The first key an item has is used.
ASSET_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "B02": ("B02", "blue"),
    "B03": ("B03", "green"),
    "B04": ("B04", "red"),
    "B05": ("B05", "rededge1"),
    "B08": ("B08", "nir"),
    "B11": ("B11", "swir16"),
    "SCL": ("SCL", "scl"),
}
#: Without these an item is useless (red, NIR and the mask); the others widen the indices.
REQUIRED: Final = ("B04", "B08", "SCL")
#: The item as the API served it, beside its bands.
ITEM_JSON: Final = "stac-item.json"
_REFERENCE: Final = "B04"
_COG: Final = "profile=cloud-optimized"
_DATE_IN_NAME: Final = re.compile(r"(?<!\d)(20\d{6})(?!\d)")  # as ingest.satellite._inputs


class ItemUnusable(Exception):
    """The item cannot make a scene (bands missing, rasters off the area); the text says why."""


@dataclass
class FetchContext:
    """What every item's fetch shares: the area (EPSG:4326), clients and the report's lists."""

    settings: StacSettings
    bbox: tuple[float, float, float, float]
    allow: AllowList
    client: httpx.Client
    signer: PlanetaryComputerSigner | None
    env: dict[str, str | int]
    downloaded: list[str]
    attempts: list[str]


def item_utc(item: pystac.Item) -> datetime:
    """The item's time (``datetime``, else ``start_datetime``) in UTC."""
    when = item.datetime or datetime.fromisoformat(str(item.properties["start_datetime"]))
    return when.astimezone(UTC)


def folder_name(item: pystac.Item) -> str:
    """``<item id>_<yyyymmdd>`` (UTC date) with path separators replaced.

    The local ingest takes a scene's date from the first ``20yymmdd`` of its folder name; an
    id whose first such number is another date gets the date in front instead.
    """
    safe = item.id.replace("/", "_").replace("\\", "_")
    day = f"{item_utc(item):%Y%m%d}"
    first = _DATE_IN_NAME.search(safe)
    return f"{safe}_{day}" if first is None or first[1] == day else f"{day}_{safe}"


def _assets(item: pystac.Item) -> dict[str, pystac.Asset]:
    found = {}
    for band_id, keys in ASSET_ALIASES.items():
        key = next((k for k in keys if k in item.assets), None)
        if key is not None:
            found[band_id] = item.assets[key]
    missing = [b for b in REQUIRED if b not in found]
    if missing:
        raise ItemUnusable(f"assets missing: {', '.join(missing)}")
    return found


def fetch_item(item: pystac.Item, folder: Path, ctx: FetchContext) -> Path:
    """Download the area's window of ``item``'s bands into ``folder`` (see the module doc).

    Raises:
        ItemUnusable: required bands are missing or the rasters miss the area.
        AssetHostNotAllowed: an asset href is off the allow-list (checked before any request).
        DownloadFailed: an asset could not be fetched.
        SignedUrlUnavailable: a Planetary Computer token could not be had.
    """
    assets = _assets(item)
    for asset in assets.values():
        ctx.allow.check(asset.href)
    facts = item_facts(item.properties, item.id)
    old = _complete_record(folder, ctx.bbox, item)
    if old is not None:
        if old.get("scene") != facts:  # a folder fetched before the facts were recorded
            write_manifest(folder, {**old, "scene": facts})
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # incomplete until written again, last
    collection = item.collection_id or ctx.settings.collection
    hrefs = {
        b: ctx.signer.sign(a.href, collection) if ctx.signer else a.href for b, a in assets.items()
    }
    whole = folder / ".whole"
    sources = {b: _local_or_remote(b, a, hrefs[b], whole, ctx) for b, a in assets.items()}
    bounds = window_of(sources[_REFERENCE], ctx.bbox, ctx.env)
    if bounds is None:
        raise ItemUnusable("the item's rasters miss the area")
    for band_id, source in sources.items():
        read_window(source, bounds, folder / f"{band_id}.tif", env=ctx.env)
        ctx.downloaded.append(f"{folder.name}/{band_id}.tif")
    shutil.rmtree(whole, ignore_errors=True)
    decision = decide_item_offset(item.properties, item.id)
    mtd = folder / MTD_NAME
    if decision.offset_dn is not None:
        start = item_utc(item).isoformat().replace("+00:00", "Z")
        mtd.write_text(mtd_xml(decision, item_id=item.id, start_time=start), encoding="utf-8")
    else:
        mtd.unlink(missing_ok=True)
    (folder / ITEM_JSON).write_text(
        json.dumps(item.to_dict(), indent=1, sort_keys=True), encoding="utf-8"
    )
    record = {
        "item": item.id,
        "collection": collection,
        "stac_url": ctx.settings.url,
        "bbox_4326": list(ctx.bbox),
        "window_bounds": list(bounds),
        "assets": {b: a.href.split("?", 1)[0] for b, a in assets.items()},
        "offset_dn": decision.offset_dn,
        "offset_reason": decision.reason,
        "scene": facts,
    }
    write_manifest(folder, record)
    return folder


def _complete_record(
    folder: Path, bbox: tuple[float, float, float, float], item: pystac.Item
) -> dict[str, Any] | None:
    """The manifest of a complete earlier fetch of ``item`` over ``bbox``, else None."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    same = record.get("item") == item.id and record.get("bbox_4326") == list(bbox)
    if same and all((folder / f"{b}.tif").is_file() for b in record.get("assets", ())):
        return record
    return None


def _local_or_remote(
    band_id: str, asset: pystac.Asset, href: str, whole: Path, ctx: FetchContext
) -> str | Path:
    """A COG is read remotely; anything else is downloaded whole (resumable) first."""
    kind = asset.media_type or ""
    if _COG in kind.replace(" ", ""):
        return href
    whole.mkdir(exist_ok=True)
    suffix = Path(href.split("?", 1)[0]).suffix or ".tif"
    dest = whole / f"{band_id}{suffix}"
    return download_whole(ctx.client, href, dest, retries=ctx.settings.retries, log=ctx.attempts)
