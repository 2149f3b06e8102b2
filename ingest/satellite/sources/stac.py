"""Sentinel-2 L2A from a STAC API: search, group by solar day, download the area, ingest.

:func:`search_items` asks a STAC API (pystac-client) for the collection's items over an area
and dates, with the ``eo:cloud_cover`` pre-filter sent as a ``query`` and applied again to
what comes back (some APIs ignore it). :func:`group_acquisitions` puts items of one platform,
relative orbit and *local solar* day together (an acquisition), keeping per MGRS tile the most
recently processed item; tiles of one acquisition stay separate scenes, and the ingest keeps
one observation per plot and date by its documented rule (higher clear fraction).

:func:`fetch_item` (:mod:`._stac_fetch`) downloads, per item, only the area's window of the
needed bands into ``SKYGROUND_HOME/downloads/stac/<collection>/<item id>_<yyyymmdd>/`` with
the item's metadata and a manifest. :func:`ingest_stac` runs all that and then
:func:`ingest.satellite.ingest.ingest_local` on the folders, with source ``stac``; the
``scenes`` rows get the items' platform, relative orbit, MGRS tile and ``eo:cloud_cover``.

The folder's date is the item's UTC date (the one in Sentinel-2 item ids); it becomes the
observation's ``acquired_at`` at 00:00 UTC, as for local files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pystac
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses
from pystac_client.exceptions import APIError
from sqlalchemy import Engine, select

from ingest.errors import IngestError
from ingest.satellite.executor import Executor
from ingest.satellite.ingest import IngestOptions, SceneResult
from ingest.satellite.sources._ingest import ingest_folders
from ingest.satellite.sources._scene_facts import MANIFEST, item_orbit, item_platform, item_tile
from ingest.satellite.sources._stac_fetch import (
    ASSET_ALIASES,
    REQUIRED,
    FetchContext,
    ItemUnusable,
    fetch_item,
    folder_name,
    item_utc,
)
from ingest.satellite.sources.download import (
    AllowList,
    AssetHostNotAllowed,
    DownloadFailed,
    PlanetaryComputerSigner,
    SignedUrlUnavailable,
    gdal_http_env,
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
    return sorted(kept, key=lambda i: (item_utc(i), i.id))


def solar_day(item: pystac.Item) -> date:
    """The local solar date of the item: UTC time shifted by the centre's longitude / 15 h."""
    west, _, east, _ = item.bbox or (0.0, 0.0, 0.0, 0.0)
    return (item_utc(item) + timedelta(hours=(west + east) / 2 / 15)).date()


def _tile(item: pystac.Item) -> str:
    return item_tile(item.properties, item.id) or item.id


def group_acquisitions(items: list[pystac.Item]) -> list[Acquisition]:
    """Acquisitions: items grouped by platform, relative orbit and solar day.

    Within one acquisition one item per MGRS tile is kept: the latest processed (highest
    ``s2:processing_baseline``, then ``s2:generation_time``/``updated``, then id).
    """
    groups: dict[tuple[str, int | None, date], dict[str, pystac.Item]] = {}
    for item in items:
        platform = item_platform(item.properties, item.id) or ""
        key = (platform, item_orbit(item.properties, item.id), solar_day(item))
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


def _ingested_keys(engine: Engine, keys: list[str]) -> set[str]:
    """Those of ``keys`` that the ``scenes`` table holds for source ``stac``."""
    if not keys:
        return set()
    statement = select(Scene.scene_key).where(Scene.source == "stac", Scene.scene_key.in_(keys))
    with engine.connect() as conn:
        return set(conn.execute(statement).scalars())


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
        ctx = FetchContext(
            settings, bbox, AllowList.from_settings(settings), client, signer,
            gdal_http_env(settings), report.downloaded, report.attempts,
        )  # fmt: skip
        for number, item in enumerate(chosen):
            folder = root / folder_name(item)
            try:
                report.folders.append(str(fetch_item(item, folder, ctx)))
            except (ItemUnusable, AssetHostNotAllowed, DownloadFailed, SignedUrlUnavailable) as exc:
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
