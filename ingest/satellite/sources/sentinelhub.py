"""Sentinel-2 L2A from Sentinel Hub (CDSE or sentinel-hub.com): search, request, mosaic, ingest.

:func:`ingest_sentinelhub` gets an OAuth client-credentials token (``SKYGROUND_SH_*``), searches
the Catalog API (:class:`sentinelhub.SentinelHubCatalog`, ``eo:cloud_cover`` as a CQL2 filter),
groups the items by UTC date and, per date, asks the Process API
(:class:`sentinelhub.SentinelHubRequest`) for the area on a 10 m UTM grid
(:mod:`._sh_grid`), split into requests of at most ``max_pixels`` × ``max_pixels``. The pieces
are pasted into one array and written in the one-file-per-band layout of local ingest under
``SKYGROUND_HOME/downloads/sentinelhub/<yyyymmdd>/`` (B02 … B11, SCL, ``MTD_MSIL2A.xml``, the
day's catalogue items ``catalog-items.json`` and the manifest ``download.json``, written last,
with the platform, relative orbit, MGRS tile and cloud cover the items agree on:
:func:`._scene_facts.mosaic_facts`), then :func:`ingest.satellite.ingest.ingest_local` runs
with source ``sentinelhub``.

Radiometry: the evalscript returns UINT16 digital numbers (``units: "DN"``, reflectance ×
10 000), the same representation as ESA's L2A files, so the local ingest's reflectance
conversion and plausibility check apply unchanged. Sentinel Hub *harmonises* L2A by default
(``harmonizeValues``, sent explicitly as true): the BOA offset of baseline 04.00 is already
removed, so ``MTD_MSIL2A.xml`` records offset 0 with that reason.

Failures: a 429 waits ``Retry-After`` (milliseconds, as Sentinel Hub documents it) inside
sentinelhub-py's client, at most ``max_rate_limit_retries`` times per request; then, or on a
403 about quota / processing units, :class:`SentinelHubQuotaExhausted`. A 401 on a request
(the token expired or was revoked early) gets a new token once and the request is sent again.
Nothing is ingested unless every request of the job succeeded.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import rasterio
import requests
from oauthlib.oauth2 import OAuth2Error
from rasterio.io import MemoryFile
from sentinelhub.api.catalog import SentinelHubCatalog
from sentinelhub.api.process import SentinelHubRequest
from sentinelhub.config import SHConfig
from sentinelhub.constants import CRS, MimeType, MosaickingOrder
from sentinelhub.data_collections import DataCollection
from sentinelhub.download.models import DownloadRequest, DownloadResponse
from sentinelhub.download.sentinelhub_client import SentinelHubDownloadClient
from sentinelhub.download.session import SentinelHubSession
from sentinelhub.exceptions import (
    DownloadFailedException,
    OutOfRequestsException,
    SHRateLimitWarning,
)
from sentinelhub.geometry import BBox
from sqlalchemy import Engine

from ingest.errors import IngestError
from ingest.satellite._inputs import MTD_NAME
from ingest.satellite.executor import Executor
from ingest.satellite.ingest import IngestOptions, SceneResult
from ingest.satellite.sources._ingest import ingest_folders
from ingest.satellite.sources._radiometry import OffsetDecision, mtd_xml
from ingest.satellite.sources._scene_facts import (
    MANIFEST,
    item_facts,
    mosaic_facts,
    write_manifest,
)
from ingest.satellite.sources._sh_grid import EVALSCRIPT, OUTPUT_BANDS, Grid, split, utm_grid
from ingest.satellite.sources.settings import SentinelHubSettings

__all__ = [
    "SOURCE",
    "SentinelHubCredentialsMissing",
    "SentinelHubQuotaExhausted",
    "SentinelHubReport",
    "SentinelHubRequestFailed",
    "ingest_sentinelhub",
]

SOURCE: Final = "sentinelhub"
#: The catalogue items of the day's mosaic, as the Catalog API answered.
ITEMS_JSON: Final = "catalog-items.json"
# Catalogue fields asked for: time and cloud cover for the search, the rest for the scene row.
_ITEM_FIELDS: Final = ["id", "properties.datetime", "properties.eo:cloud_cover",
                       "properties.platform", "properties.sat:relative_orbit",
                       "properties.s2:mgrs_tile", "properties.grid:code"]  # fmt: skip
_OFFSET_REASON: Final = "Sentinel Hub harmonizeValues=true: the service removed the BOA offset"
_T = TypeVar("_T")
_QUOTA_WORDS: Final = ("quota", "processing unit", "insufficient", "exceeded")


class SentinelHubCredentialsMissing(IngestError):
    """``SKYGROUND_SH_CLIENT_ID`` / ``SKYGROUND_SH_CLIENT_SECRET`` are not set."""

    key = "sentinelhub_error_credentials"


class SentinelHubRequestFailed(IngestError):
    """A token, catalogue or process request failed (status and the server's message)."""

    key = "sentinelhub_error_request"


class SentinelHubQuotaExhausted(IngestError):
    """The account's quota or processing units are used up, or 429 persisted past the retries."""

    key = "sentinelhub_error_quota"


@dataclass
class SentinelHubReport:
    """What the Sentinel Hub part did, for the ``--json`` summary."""

    found: int = 0
    dates: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    process_requests: int = 0
    rate_limited: int = 0
    token_refreshes: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def _status(exc: DownloadFailedException) -> int | None:
    cause = exc.request_exception
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        return int(cause.response.status_code)
    return None


def _server_message(exc: DownloadFailedException) -> str:
    cause = exc.request_exception
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        return cause.response.text[:300]
    return str(exc).splitlines()[-1][:300]


def _translate(exc: DownloadFailedException, url: str) -> IngestError:
    if isinstance(exc, OutOfRequestsException):
        return SentinelHubQuotaExhausted(url=url, reason="429 Too Many Requests after all retries")
    status, message = _status(exc), _server_message(exc)
    if status == 403 and any(word in message.lower() for word in _QUOTA_WORDS):
        return SentinelHubQuotaExhausted(url=url, reason=f"403 {message}")
    return SentinelHubRequestFailed(url=url, status=status or "—", reason=message)


class _Connection:
    """One OAuth session and download client; a 401 gets one new token and one more try."""

    def __init__(self, settings: SentinelHubSettings, report: SentinelHubReport) -> None:
        client_id = settings.client_id.get_secret_value()
        secret = settings.client_secret.get_secret_value()
        if not client_id or not secret:
            raise SentinelHubCredentialsMissing()
        self.settings = settings
        self.report = report
        self.config = SHConfig(
            use_defaults=True,
            sh_client_id=client_id,
            sh_client_secret=secret,
            sh_base_url=settings.base_url.rstrip("/"),
            sh_token_url=settings.token_url,
            max_download_attempts=settings.max_download_attempts,
            download_sleep_time=settings.download_sleep_s,
            max_retries=settings.max_rate_limit_retries,
            download_timeout_seconds=settings.timeout_s,
        )
        self._new_session()

    def _new_session(self) -> None:
        try:
            self.session = SentinelHubSession(config=self.config)
        except DownloadFailedException as exc:
            raise _translate(exc, self.settings.token_url) from exc
        except (OAuth2Error, requests.RequestException, ValueError) as exc:
            raise SentinelHubRequestFailed(
                url=self.settings.token_url, status="—", reason=str(exc)[:300]
            ) from exc
        self.client = SentinelHubDownloadClient(session=self.session, config=self.config)

    def _retry_on_401(self, call: Callable[[], _T], url: str) -> _T:
        for attempt in (1, 2):
            caught: list[warnings.WarningMessage] = []
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", SHRateLimitWarning)
                    return call()
            except DownloadFailedException as exc:
                if attempt == 2 or _status(exc) != 401:
                    raise _translate(exc, url) from exc
            finally:
                self._count(caught)  # outside the recorder: other warnings go on
            self.report.token_refreshes += 1
            self._new_session()
        raise AssertionError("unreachable")

    def _count(self, caught: list[warnings.WarningMessage]) -> None:
        for note in caught:
            if issubclass(note.category, SHRateLimitWarning):
                self.report.rate_limited += 1
            else:
                warnings.warn_explicit(note.message, note.category, note.filename, note.lineno)

    def search(
        self, bbox: tuple[float, float, float, float], start: date, end: date, max_cloud: float
    ) -> list[dict[str, Any]]:
        """Catalog items over ``bbox`` (EPSG:4326), days ``start``–``end`` inclusive."""

        def run() -> list[dict[str, Any]]:
            catalog = SentinelHubCatalog(config=self.config)
            catalog.client.session = self.session
            search = catalog.search(
                self.settings.collection,
                bbox=BBox(bbox, crs=CRS.WGS84),
                time=(_midnight(start), _midnight(end + timedelta(days=1))),
                filter=f"eo:cloud_cover <= {max_cloud:g}",
                fields={"include": _ITEM_FIELDS},
            )
            return list(search)

        found = self._retry_on_401(run, f"{self.settings.base_url}/api/v1/catalog")
        # Filtered again: some deployments ignore the filter, and the interval's end is the
        # midnight after ``end``, which the API includes.
        kept = [
            f
            for f in found
            if float(f["properties"].get("eo:cloud_cover", 0)) <= max_cloud
            and start <= _utc_day(f) <= end
        ]
        return sorted(kept, key=lambda f: (f["properties"]["datetime"], f["id"]))

    def process(self, tile: Grid, day: date, max_cloud: float) -> np.ndarray:
        """The output bands of one tile and UTC day, ``(len(OUTPUT_BANDS), height, width)``."""
        input_data = SentinelHubRequest.input_data(
            DataCollection.SENTINEL2_L2A,
            time_interval=(_midnight(day), _midnight(day + timedelta(days=1))),
            maxcc=max_cloud / 100,
            mosaicking_order=MosaickingOrder.MOST_RECENT,
            other_args={"type": self.settings.collection, "processing": {"harmonizeValues": True}},
        )
        request = SentinelHubRequest(
            evalscript=EVALSCRIPT,
            # A plain dict: the collection's own service URL (services.sentinel-hub.com) would
            # otherwise override sh_base_url and send CDSE requests to the wrong deployment.
            input_data=[dict(input_data)],
            responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
            bbox=BBox(tile.bounds, crs=CRS(tile.epsg)),
            size=(tile.width, tile.height),
            config=self.config,
        )
        download: DownloadRequest = request.download_list[0]
        self.report.process_requests += 1

        def run() -> DownloadResponse:
            responses = self.client.download([download], max_threads=1, decode_data=False)
            response: DownloadResponse = responses[0]
            return response

        response = self._retry_on_401(run, str(download.url))
        with MemoryFile(response.content) as memory, memory.open() as dataset:
            data = dataset.read()
        if data.shape != (len(OUTPUT_BANDS), tile.height, tile.width):
            raise SentinelHubRequestFailed(
                url=str(download.url), status=200, reason=f"unexpected TIFF shape {data.shape}"
            )
        return np.asarray(data)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _utc_day(feature: dict[str, Any]) -> date:
    when = datetime.fromisoformat(str(feature["properties"]["datetime"]).replace("Z", "+00:00"))
    return when.astimezone(UTC).date()


def _write_folder(
    folder: Path,
    grid: Grid,
    mosaic: np.ndarray,
    record: dict[str, Any],
    features: list[dict[str, Any]],
) -> None:
    """Band files (uint16 DN, SCL uint8; 0 where dataMask is 0), metadata, manifest last."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    valid = mosaic[OUTPUT_BANDS.index("dataMask")] > 0
    for number, band in enumerate(OUTPUT_BANDS):
        if band == "dataMask":
            continue
        dtype = "uint8" if band == "SCL" else "uint16"
        values = np.where(valid, mosaic[number], 0).astype(dtype)
        profile = {"driver": "GTiff", "dtype": dtype, "count": 1, "width": grid.width,
                   "height": grid.height, "crs": f"EPSG:{grid.epsg}", "transform": grid.transform,
                   "nodata": 0, "compress": "deflate"}  # fmt: skip
        with rasterio.open(folder / f"{band}.tif", "w", **profile) as dst:
            dst.write(values, 1)
    decision = OffsetDecision(0.0, None, _OFFSET_REASON)
    start = f"{record['date']}T00:00:00Z"
    text = mtd_xml(decision, item_id=f"sentinelhub_{folder.name}", start_time=start)
    (folder / MTD_NAME).write_text(text, encoding="utf-8")
    items = json.dumps(features, indent=1, sort_keys=True)
    (folder / ITEMS_JSON).write_text(items, encoding="utf-8")
    write_manifest(folder, record)


def _complete(folder: Path, record: dict[str, Any]) -> bool:
    try:
        old = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    keys = ("bbox_4326", "items", "base_url", "max_cloud_pct", "resolution_m")
    same = all(old.get(k) == record[k] for k in keys)
    bands = [b for b in OUTPUT_BANDS if b != "dataMask"]
    return same and all((folder / f"{b}.tif").is_file() for b in bands)


def ingest_sentinelhub(
    *,
    engine: Engine,
    bbox: tuple[float, float, float, float],
    start: date,
    end: date,
    home: Path,
    store: Path,
    options: IngestOptions,
    settings: SentinelHubSettings | None = None,
    max_cloud_pct: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> tuple[str | None, list[SceneResult], SentinelHubReport]:
    """Search, request every date's area from the Process API, ingest (source ``sentinelhub``).

    Args:
        bbox: the area, west, south, east, north in degrees (EPSG:4326).
        start: first UTC day searched (inclusive).
        end: last UTC day searched (inclusive).
        home: ``SKYGROUND_HOME``; folders go to ``downloads/sentinelhub/<yyyymmdd>/``.

    Returns:
        The ingest job id (None when nothing was found), one result per scene, the report.

    Raises:
        SentinelHubCredentialsMissing: no client id or secret.
        SentinelHubQuotaExhausted: quota or processing units used up (nothing is ingested).
        SentinelHubRequestFailed: a token, catalogue or process request failed.
    """
    settings = settings or SentinelHubSettings()
    cloud = settings.max_cloud_pct if max_cloud_pct is None else max_cloud_pct
    report = SentinelHubReport()
    connection = _Connection(settings, report)
    features = connection.search(bbox, start, end, cloud)
    report.found = len(features)
    days: dict[date, list[dict[str, Any]]] = {}
    for feature in features:
        days.setdefault(_utc_day(feature), []).append(feature)
    grid = utm_grid(bbox, settings.resolution_m)
    tiles = split(grid, settings.max_pixels)
    root = home / "downloads" / SOURCE
    for number, (day, found) in enumerate(sorted(days.items())):
        folder = root / f"{day:%Y%m%d}"
        items = [str(f["id"]) for f in found]
        scene = mosaic_facts([item_facts(f.get("properties", {}), str(f["id"])) for f in found])
        record = {"date": day.isoformat(), "items": items, "bbox_4326": list(bbox),
                  "base_url": settings.base_url, "max_cloud_pct": cloud,
                  "resolution_m": settings.resolution_m, "epsg": grid.epsg,
                  "bounds": list(grid.bounds), "requests": len(tiles),
                  "offset_dn": 0.0, "offset_reason": _OFFSET_REASON,
                  "scene": scene}  # fmt: skip
        report.dates.append(day.isoformat())
        if _complete(folder, record):
            report.skipped.append(day.isoformat())
            write_manifest(folder, record)  # the scene facts as the catalogue states them now
        else:
            mosaic = np.zeros((len(OUTPUT_BANDS), grid.height, grid.width), dtype=np.uint16)
            for row, col, tile in tiles:
                piece = connection.process(tile, day, cloud)
                mosaic[:, row : row + tile.height, col : col + tile.width] = piece
            _write_folder(folder, grid, mosaic, record, found)
        report.folders.append(str(folder))
        if progress is not None:
            progress(number + 1, 2 * len(days))
    job_id, results = ingest_folders(
        engine=engine, folders=report.folders, store=store, options=options, source=SOURCE,
        progress=progress, executor=executor,
    )  # fmt: skip
    return job_id, results, report
