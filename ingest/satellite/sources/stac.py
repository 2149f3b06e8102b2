"""Sentinel-2 L2A from a STAC API: search, group by solar day, download the area, ingest.

:func:`search_items` asks a STAC API (pystac-client) for the collection's items over an area
and dates, with the ``eo:cloud_cover`` pre-filter sent as a ``query`` and applied again to
what comes back (some APIs ignore it). :func:`group_acquisitions` puts items of one platform,
relative orbit and *local solar* day together (an acquisition), keeping per MGRS tile the most
recently processed item; tiles of one acquisition stay separate scenes, and the ingest keeps
one observation per plot and date by its documented rule (higher clear fraction).

:func:`fetch_item` downloads, per item, only the area's window of the bands the indices need
(B02, B03, B04, B05, B08, B11 and SCL, found under the asset keys of Planetary Computer, Earth
Search v0 or Earth Search v1 through :data:`ASSET_ALIASES`) into
``SKYGROUND_HOME/downloads/stac/<collection>/<item id>_<yyyymmdd>/`` in the one-file-per-band
layout :func:`ingest.satellite._inputs.find_scenes` reads, plus ``MTD_MSIL2A.xml`` recording
the BOA offset decision (:mod:`._radiometry`), ``stac-item.json`` and ``download.json`` (the
manifest, written last: a folder with a manifest for the same area is complete and is not
fetched again). :func:`ingest_stac` runs all that and then
:func:`ingest.satellite.ingest.ingest_local` on the folders, with source ``stac``.

The folder's date is the item's UTC date (the one in Sentinel-2 item ids); it becomes the
observation's ``acquired_at`` at 00:00 UTC, as for local files.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import pystac
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses
from pystac_client.exceptions import APIError
from sqlalchemy import Engine, select

from ingest.errors import IngestError
from ingest.satellite._inputs import MTD_NAME
from ingest.satellite.executor import Executor
from ingest.satellite.ingest import IngestOptions, SceneResult
from ingest.satellite.sources._ingest import ingest_folders
from ingest.satellite.sources._radiometry import decide_item_offset, mtd_xml
from ingest.satellite.sources.download import (
    AllowList,
    AssetHostNotAllowed,
    DownloadFailed,
    PlanetaryComputerSigner,
    SignedUrlUnavailable,
    download_whole,
    gdal_http_env,
    read_window,
    window_of,
)
from ingest.satellite.sources.settings import StacSettings
from models.errors import SkyGroundWarning
from models.tables import Scene

__all__ = [
    "ASSET_ALIASES",
    "MANIFEST",
    "REQUIRED",
    "Acquisition",
    "FetchReport",
    "StacItemRejected",
    "StacSearchFailed",
    "fetch_item",
    "folder_name",
    "group_acquisitions",
    "ingest_stac",
    "search_items",
    "solar_day",
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
_REFERENCE: Final = "B04"
_COG: Final = "profile=cloud-optimized"
MANIFEST: Final = "download.json"
_DATE_IN_NAME: Final = re.compile(r"(?<!\d)(20\d{6})(?!\d)")  # as ingest.satellite._inputs


class StacSearchFailed(IngestError):
    """The STAC API could not be searched."""

    key = "stac_error_search"


class StacItemRejected(SkyGroundWarning):
    """An item was left out (asset off the allow-list, bands missing, download failed)."""

    key = "stac_warning_item_rejected"


@dataclass(frozen=True)
class Acquisition:
    """Items of one platform, relative orbit and local solar day (one per MGRS tile)."""

    platform: str
    orbit: int | None
    day: date
    items: tuple[pystac.Item, ...]


@dataclass
class FetchReport:
    """What the STAC part did, for the ``--json`` summary."""

    found: int = 0
    acquisitions: int = 0
    folders: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def search_items(
    settings: StacSettings,
    *,
    bbox: tuple[float, float, float, float],
    start: date,
    end: date,
    max_cloud_pct: float,
) -> list[pystac.Item]:
    """Items of ``settings.collection`` over ``bbox`` (EPSG:4326) from ``start`` to ``end``.

    Both dates are whole days, inclusive. Items with ``eo:cloud_cover`` above
    ``max_cloud_pct`` (%) are dropped, also when the API ignored the query.

    Raises:
        StacSearchFailed: the API cannot be reached or answers with an error.
    """
    try:
        client = Client.open(settings.url, timeout=settings.timeout_s)
        # The query extension is used only where the API declares it; the answer is
        # filtered again below either way.
        query = None
        if client.conforms_to(ConformanceClasses.QUERY):
            query = {"eo:cloud_cover": {"lte": max_cloud_pct}}
        search = client.search(
            collections=[settings.collection],
            bbox=bbox,
            datetime=f"{start.isoformat()}/{end.isoformat()}",
            query=query,
            max_items=settings.max_items,
        )
        items = list(search.items())
    except (APIError, OSError, ValueError) as exc:
        raise StacSearchFailed(url=settings.url, reason=str(exc)[:300]) from exc
    kept = []
    for item in items:
        cloud = item.properties.get("eo:cloud_cover")
        if cloud is None or float(cloud) <= max_cloud_pct:
            kept.append(item)
    return sorted(kept, key=lambda i: (_utc(i), i.id))


def _utc(item: pystac.Item) -> datetime:
    when = item.datetime or datetime.fromisoformat(str(item.properties["start_datetime"]))
    return when.astimezone(UTC)


def solar_day(item: pystac.Item) -> date:
    """The local solar date of the item: UTC time shifted by the centre's longitude / 15 h."""
    west, _, east, _ = item.bbox or (0.0, 0.0, 0.0, 0.0)
    return (_utc(item) + timedelta(hours=(west + east) / 2 / 15)).date()


def _tile(item: pystac.Item) -> str:
    p = item.properties
    for key in ("s2:mgrs_tile", "grid:code", "sentinel:grid_square"):
        if p.get(key):
            return str(p[key])
    if "mgrs:utm_zone" in p:
        return (
            f"{p['mgrs:utm_zone']}{p.get('mgrs:latitude_band', '')}{p.get('mgrs:grid_square', '')}"
        )
    return item.id


def _orbit(item: pystac.Item) -> int | None:
    value = item.properties.get("sat:relative_orbit")
    return int(value) if value is not None else None


def group_acquisitions(items: list[pystac.Item]) -> list[Acquisition]:
    """Acquisitions: items grouped by platform, relative orbit and solar day.

    Within one acquisition one item per MGRS tile is kept: the latest processed (highest
    ``s2:processing_baseline``, then ``s2:generation_time``/``updated``, then id).
    """
    groups: dict[tuple[str, int | None, date], dict[str, pystac.Item]] = {}
    for item in items:
        key = (str(item.properties.get("platform", "")).lower(), _orbit(item), solar_day(item))
        tiles = groups.setdefault(key, {})
        tile = _tile(item)
        if tile not in tiles or _newness(item) > _newness(tiles[tile]):
            tiles[tile] = item
    out = [
        Acquisition(platform, orbit, day, tuple(sorted(tiles.values(), key=lambda i: i.id)))
        for (platform, orbit, day), tiles in groups.items()
    ]
    return sorted(out, key=lambda a: (a.day, a.platform, a.orbit or 0))


def _newness(item: pystac.Item) -> tuple[str, str, str]:
    p = item.properties
    made = str(p.get("s2:generation_time") or p.get("updated") or p.get("created") or "")
    return str(p.get("s2:processing_baseline", "")), made, item.id


def folder_name(item: pystac.Item) -> str:
    """``<item id>_<yyyymmdd>`` (UTC date) with path separators replaced.

    The local ingest takes a scene's date from the first ``20yymmdd`` of its folder name; an
    id whose first such number is another date gets the date in front instead.
    """
    safe = item.id.replace("/", "_").replace("\\", "_")
    day = f"{_utc(item):%Y%m%d}"
    first = _DATE_IN_NAME.search(safe)
    return f"{safe}_{day}" if first is None or first[1] == day else f"{day}_{safe}"


@dataclass
class _Context:
    settings: StacSettings
    bbox: tuple[float, float, float, float]
    allow: AllowList
    client: httpx.Client
    signer: PlanetaryComputerSigner | None
    report: FetchReport
    env: dict[str, str | int]


def _assets(item: pystac.Item) -> dict[str, pystac.Asset]:
    found = {}
    for band_id, keys in ASSET_ALIASES.items():
        key = next((k for k in keys if k in item.assets), None)
        if key is not None:
            found[band_id] = item.assets[key]
    missing = [b for b in REQUIRED if b not in found]
    if missing:
        raise _Rejected(f"assets missing: {', '.join(missing)}")
    return found


class _Rejected(Exception):
    pass


def fetch_item(item: pystac.Item, folder: Path, ctx: _Context) -> Path:
    """Download the area's window of ``item``'s bands into ``folder`` (see the module doc).

    Raises:
        AssetHostNotAllowed: an asset href is off the allow-list (checked before any request).
        DownloadFailed: an asset could not be fetched.
    """
    assets = _assets(item)
    for asset in assets.values():
        ctx.allow.check(asset.href)
    manifest = folder / MANIFEST
    if manifest.is_file() and _same_area(manifest, ctx.bbox, item):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # incomplete until written again, last
    collection = item.collection_id or ctx.settings.collection
    hrefs = {
        b: ctx.signer.sign(a.href, collection) if ctx.signer else a.href for b, a in assets.items()
    }
    whole = folder / ".whole"
    sources = {b: _local_or_remote(b, a, hrefs[b], whole, ctx) for b, a in assets.items()}
    bounds = window_of(sources[_REFERENCE], ctx.bbox, ctx.env)
    if bounds is None:
        raise _Rejected("the item's rasters miss the area")
    for band_id, source in sources.items():
        read_window(source, bounds, folder / f"{band_id}.tif", env=ctx.env)
        ctx.report.downloaded.append(f"{folder.name}/{band_id}.tif")
    shutil.rmtree(whole, ignore_errors=True)
    decision = decide_item_offset(item.properties, item.id)
    mtd = folder / MTD_NAME
    if decision.offset_dn is not None:
        start = _utc(item).isoformat().replace("+00:00", "Z")
        mtd.write_text(mtd_xml(decision, item_id=item.id, start_time=start), encoding="utf-8")
    else:
        mtd.unlink(missing_ok=True)
    (folder / "stac-item.json").write_text(
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
    }
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(manifest)
    return folder


def _ingested_keys(engine: Engine, keys: list[str]) -> set[str]:
    """Those of ``keys`` that the ``scenes`` table holds for source ``stac``."""
    if not keys:
        return set()
    statement = select(Scene.scene_key).where(Scene.source == "stac", Scene.scene_key.in_(keys))
    with engine.connect() as conn:
        return set(conn.execute(statement).scalars())


def _same_area(manifest: Path, bbox: tuple[float, float, float, float], item: pystac.Item) -> bool:
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = record.get("item") == item.id and record.get("bbox_4326") == list(bbox)
    return bool(same) and all((manifest.parent / f"{b}.tif").is_file() for b in record["assets"])


def _local_or_remote(
    band_id: str, asset: pystac.Asset, href: str, whole: Path, ctx: _Context
) -> str | Path:
    """A COG is read remotely; anything else is downloaded whole (resumable) first."""
    kind = asset.media_type or ""
    if _COG in kind.replace(" ", ""):
        return href
    whole.mkdir(exist_ok=True)
    suffix = Path(href.split("?", 1)[0]).suffix or ".tif"
    dest = whole / f"{band_id}{suffix}"
    return download_whole(
        ctx.client, href, dest, retries=ctx.settings.retries, log=ctx.report.attempts
    )


Progress = Callable[[int, int], None]


def ingest_stac(
    *,
    engine: Engine,
    bbox: tuple[float, float, float, float],
    start: date,
    end: date,
    home: Path,
    store: Path,
    options: IngestOptions,
    settings: StacSettings | None = None,
    max_cloud_pct: float | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    skip_ingested: bool = False,
) -> tuple[str | None, list[SceneResult], FetchReport]:
    """Search, download the area of each item and ingest the folders (source ``stac``).

    Items that cannot be used (an asset off the allow-list, bands missing, a failed
    download) raise a :class:`StacItemRejected` warning and are left out; the rest go on.
    With ``skip_ingested`` an item whose scene (source ``stac``, key :func:`folder_name`) is
    in the ``scenes`` table already is neither downloaded nor ingested (``report.skipped``).

    Returns:
        The ingest job id (None when no item was usable), one result per scene, the report.
    """
    settings = settings or StacSettings()
    cloud = settings.max_cloud_pct if max_cloud_pct is None else max_cloud_pct
    items = search_items(settings, bbox=bbox, start=start, end=end, max_cloud_pct=cloud)
    acquisitions = group_acquisitions(items)
    report = FetchReport(found=len(items), acquisitions=len(acquisitions))
    root = home / "downloads" / "stac" / settings.collection
    chosen = [item for acquisition in acquisitions for item in acquisition.items]
    if skip_ingested:
        known = _ingested_keys(engine, [folder_name(item) for item in chosen])
        report.skipped = [item.id for item in chosen if folder_name(item) in known]
        chosen = [item for item in chosen if folder_name(item) not in known]
    with httpx.Client(timeout=settings.timeout_s, follow_redirects=False) as client:
        signer = None
        if settings.signs_with_planetary_computer:
            signer = PlanetaryComputerSigner(settings.pc_token_url, client)
        ctx = _Context(
            settings, bbox, AllowList.from_settings(settings), client, signer, report,
            gdal_http_env(settings),
        )  # fmt: skip
        for number, item in enumerate(chosen):
            folder = root / folder_name(item)
            try:
                report.folders.append(str(fetch_item(item, folder, ctx)))
            except (_Rejected, AssetHostNotAllowed, DownloadFailed, SignedUrlUnavailable) as exc:
                reason = exc.message("en") if isinstance(exc, IngestError) else str(exc)
                report.rejected.append({"item": item.id, "reason": reason})
                warnings.warn(StacItemRejected(item=item.id, reason=reason), stacklevel=2)
            if progress is not None:
                progress(number + 1, 2 * len(chosen))  # downloads: first half
    job_id, results = ingest_folders(
        engine=engine, folders=report.folders, store=store, options=options, source="stac",
        progress=progress, executor=executor,
    )  # fmt: skip
    return job_id, results, report
