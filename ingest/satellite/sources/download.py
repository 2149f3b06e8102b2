"""Fetch remote Sentinel-2 assets: allow-list, Planetary Computer signing, windows, resume.

Two ways to get a band:

* a Cloud-Optimized GeoTIFF is read through GDAL's ``/vsicurl/`` (HTTP range requests):
  only the blocks of the area's window travel (:func:`read_window`);
* any other asset (JPEG 2000, a plain GeoTIFF) is downloaded whole with httpx into a
  ``.part`` file; a transfer cut short is resumed with ``Range: bytes=N-`` from the bytes
  already on disk, in the same run or the next one (:func:`download_whole`), and the window is
  then cut from the local copy.

Every href is checked against ``SKYGROUND_STAC_ALLOWED_HOSTS`` before anything is requested
(:class:`AllowList`); GDAL's HTTP client sees only hrefs that passed. Window files are written
under a temporary name and renamed, so a killed run leaves no half-written band.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

import httpx
import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from ingest.errors import IngestError
from ingest.satellite.sources.settings import StacSettings

__all__ = [
    "AllowList",
    "AssetHostNotAllowed",
    "DownloadFailed",
    "PlanetaryComputerSigner",
    "SignedUrlUnavailable",
    "download_whole",
    "gdal_http_env",
    "read_window",
    "snap_bounds",
    "window_of",
]

#: Every Sentinel-2 band grid (10, 20, 60 m) nests in a window whose edges are multiples of
#: this many metres from the tile's origin.
SNAP_M: Final = 60.0
#: The one GDAL driver an asset may open with, by suffix (default GTiff); no VRT or others.
DRIVERS: Final = {".jp2": "JP2OpenJPEG"}
_GTIFF: Final = {"driver": "GTiff", "compress": "deflate", "tiled": True,
                 "blockxsize": 256, "blockysize": 256}  # fmt: skip


class AssetHostNotAllowed(IngestError):
    """An asset href points at a host that is not on the allow-list."""

    key = "stac_error_host_not_allowed"


class DownloadFailed(IngestError):
    """An asset could not be fetched (HTTP status, truncated after every retry, unreadable)."""

    key = "stac_error_download_failed"


class SignedUrlUnavailable(IngestError):
    """The Planetary Computer token API gave no token."""

    key = "stac_error_token"


@dataclass(frozen=True)
class AllowList:
    """Hosts (``host`` or ``host:port``) asset hrefs may point at."""

    hosts: tuple[str, ...]
    allow_http: bool = False

    @classmethod
    def from_settings(cls, settings: StacSettings) -> AllowList:
        """The allow-list of ``settings``."""
        return cls(tuple(h.lower() for h in settings.allowed_hosts), settings.allow_http)

    def check(self, href: str) -> str:
        """``href`` itself when it may be fetched.

        Raises:
            AssetHostNotAllowed: not https (or http when allowed), or its host is not listed.
        """
        parts = urlsplit(href)
        schemes = ("https", "http") if self.allow_http else ("https",)
        host = (parts.hostname or "").lower()
        netloc = f"{host}:{parts.port}" if parts.port else host
        if parts.scheme not in schemes or not ({host, netloc} & set(self.hosts)):
            raise AssetHostNotAllowed(href=_public(href), hosts=", ".join(self.hosts))
        return href


def _public(href: str) -> str:
    """The href without its query string (which may hold a SAS token)."""
    return href.split("?", 1)[0]


@dataclass
class PlanetaryComputerSigner:
    """Appends a Planetary Computer SAS token to hrefs; one token per collection until expiry.

    ``GET {token_url}/{collection}`` answers ``{"token": "st=…&sig=…", "msft:expiry": …}``.
    A token is reused until five minutes before its expiry.
    """

    token_url: str
    client: httpx.Client
    _tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    margin: ClassVar[timedelta] = timedelta(minutes=5)

    def token(self, collection: str) -> str:
        """A valid token for ``collection`` (cached)."""
        cached = self._tokens.get(collection)
        now = datetime.now(UTC)
        if cached is not None and cached[1] - self.margin > now:
            return cached[0]
        url = f"{self.token_url.rstrip('/')}/{collection}"
        try:
            response = self.client.get(url)
            response.raise_for_status()
            data = response.json()
            token = str(data["token"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SignedUrlUnavailable(url=url, reason=type(exc).__name__) from exc
        expiry = _expiry(data.get("msft:expiry"), now)
        self._tokens[collection] = (token, expiry)
        return token

    def sign(self, href: str, collection: str) -> str:
        """``href`` with the token as its query string (kept as is when already signed)."""
        if "?" in href and "sig=" in href:
            return href
        separator = "&" if "?" in href else "?"
        return f"{href}{separator}{self.token(collection)}"


def _expiry(value: object, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return now + timedelta(minutes=10)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def gdal_http_env(settings: StacSettings) -> dict[str, str | int]:
    """GDAL options for ranged reads of remote COGs (applied per read, never globally)."""
    return {
        # Without these GDAL lists the "directory" of every file and probes sidecar files.
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.jp2",
        "GDAL_HTTP_TIMEOUT": str(int(settings.timeout_s)),
        "GDAL_HTTP_MAX_RETRY": str(settings.retries),
        "GDAL_HTTP_RETRY_DELAY": "1",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_NUM_THREADS": "2",
        "GDAL_CACHEMAX": 256 * 1024 * 1024,  # bytes; rasterio wants an integer here
        "VSI_CACHE": "TRUE",
    }


@contextmanager
def _gdal(env: Mapping[str, str | int]) -> Iterator[None]:
    with rasterio.Env(**env):
        yield


def snap_bounds(
    bbox_4326: tuple[float, float, float, float], dataset: Any, step_m: float = SNAP_M
) -> tuple[float, float, float, float] | None:
    """The area's bounds in ``dataset``'s CRS, grown to ``step_m`` from its origin, clipped.

    Args:
        bbox_4326: (west, south, east, north), degrees (EPSG:4326).
        dataset: an open rasterio dataset (its CRS, transform and bounds are used).
        step_m: snapping step (60 m makes the 10, 20 and 60 m windows nest).

    Returns:
        (xmin, ymin, xmax, ymax) in the dataset's CRS, or None when the area misses it.
    """
    xmin, ymin, xmax, ymax = transform_bounds("EPSG:4326", dataset.crs, *bbox_4326, densify_pts=21)
    x0, y0 = dataset.transform.c, dataset.transform.f
    xmin = x0 + np.floor((xmin - x0) / step_m) * step_m
    xmax = x0 + np.ceil((xmax - x0) / step_m) * step_m
    ymax = y0 - np.floor((y0 - ymax) / step_m) * step_m
    ymin = y0 - np.ceil((y0 - ymin) / step_m) * step_m
    left, bottom, right, top = dataset.bounds
    out = (max(xmin, left), max(ymin, bottom), min(xmax, right), min(ymax, top))
    if out[0] >= out[2] or out[1] >= out[3]:
        return None
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def window_of(
    source: str | Path, bbox_4326: tuple[float, float, float, float], env: Mapping[str, str | int]
) -> tuple[float, float, float, float] | None:
    """:func:`snap_bounds` of the area on the raster at ``source`` (header read only).

    Raises:
        DownloadFailed: GDAL cannot open the source (HTTP error, not a raster).
    """
    try:
        with _gdal(env), rasterio.open(open_remote(str(source)), driver=_driver(source)) as ds:
            return snap_bounds(bbox_4326, ds)
    except RasterioIOError as exc:
        raise DownloadFailed(href=_public(str(source)), reason=str(exc)[:200]) from exc


def _driver(source: str | Path) -> str:
    suffix = Path(str(source).split("?", 1)[0]).suffix.lower()
    return DRIVERS.get(suffix, "GTiff")


def open_remote(href: str) -> str:
    """The GDAL path of an http(s) href (``/vsicurl/…``); local paths unchanged."""
    return f"/vsicurl/{href}" if href.startswith(("http://", "https://")) else href


def read_window(
    source: str | Path,
    bounds: tuple[float, float, float, float],
    dest: Path,
    *,
    env: Mapping[str, str | int],
) -> Path:
    """Write the window ``bounds`` (dataset CRS) of band 1 of ``source`` to ``dest``.

    Args:
        source: an http(s) href (read with range requests) or a local file.
        bounds: window bounds in the source's CRS, on its pixel edges (see :func:`snap_bounds`).
        dest: the GeoTIFF written (deflate, same dtype, CRS and nodata; written to a
            temporary name, then renamed).
        env: GDAL options (:func:`gdal_http_env`).

    Raises:
        DownloadFailed: GDAL cannot open or read the source.
    """
    path = open_remote(str(source))
    try:
        with _gdal(env), rasterio.open(path, driver=_driver(source)) as ds:
            window = _window(bounds, ds)
            data = ds.read(1, window=window)
            profile = {**_GTIFF, "dtype": data.dtype.name, "crs": ds.crs,
                       "transform": ds.window_transform(window), "nodata": ds.nodata,
                       "width": data.shape[1], "height": data.shape[0], "count": 1}  # fmt: skip
    except RasterioIOError as exc:
        raise DownloadFailed(href=_public(str(source)), reason=str(exc)[:200]) from exc
    if data.dtype.kind in "ui" and data.dtype.itemsize > 1:
        profile["predictor"] = 2
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    with rasterio.open(tmp, "w", **profile) as out:
        out.write(data, 1)
    os.replace(tmp, dest)
    return dest


def _window(bounds: tuple[float, float, float, float], ds: Any) -> Window:
    window = from_bounds(*bounds, transform=ds.transform)
    snapped = window.round_offsets(op="floor").round_lengths(op="ceil")
    return snapped.intersection(Window(0, 0, ds.width, ds.height))


class _Truncated(Exception):
    """The body ended before the announced length."""


def download_whole(
    client: httpx.Client, href: str, dest: Path, *, retries: int, log: list[str] | None = None
) -> Path:
    """Download ``href`` to ``dest`` through ``dest.part``, resuming a cut transfer.

    A ``.part`` left by an earlier attempt (or run) is continued with ``Range: bytes=N-``; a
    server that answers 200 instead of 206 is read again from the start. ``dest`` appears
    only once the body is complete (its length matches ``Content-Length``/``Content-Range``).

    Args:
        client: the HTTP client (timeouts set).
        href: the (signed) URL.
        dest: the final file; nothing is fetched when it exists.
        retries: attempts after the first one.
        log: receives one line per attempt (``bytes=N-`` resumptions), for the job record.

    Raises:
        DownloadFailed: an HTTP error status, or the body still short after every retry.
    """
    if dest.exists():
        return dest
    part = dest.with_name(dest.name + ".part")
    last = "no attempt"
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        if log is not None:
            log.append(f"{_public(href)} attempt {attempt + 1} from byte {have}")
        try:
            if _fetch(client, href, part, have, headers):
                os.replace(part, dest)
                return dest
            last = "incomplete body"
        except (httpx.TransportError, _Truncated) as exc:
            last = f"{type(exc).__name__}: {exc}"[:200]
        time.sleep(min(0.2 * 2**attempt, 5.0))
    raise DownloadFailed(href=_public(href), reason=last)


def _fetch(client: httpx.Client, href: str, part: Path, have: int, headers: dict[str, str]) -> bool:
    with client.stream("GET", href, headers=headers) as response:
        if response.status_code == 416 and have:
            # Range past the end: the .part already holds the whole body.
            total = _total(response.headers.get("content-range"))
            return total == have
        if response.status_code not in (200, 206):
            raise DownloadFailed(href=_public(href), reason=f"HTTP {response.status_code}")
        if response.status_code == 200:
            have = 0  # the server ignored the range: start over
            total = _int(response.headers.get("content-length"))
        else:
            start = _start(response.headers.get("content-range"))
            if start != have:
                raise _Truncated(f"Content-Range starts at {start}, not {have}")
            total = _total(response.headers.get("content-range"))
        with part.open("ab" if have else "wb") as out:
            # No chunk size: httpx would hold up to a chunk back, and lose it when the
            # connection drops; every piece received must reach the .part file.
            for chunk in response.iter_bytes():
                out.write(chunk)
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Truncated(f"{size} of {total} bytes")
    return True


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _start(content_range: str | None) -> int | None:
    # "bytes 100-199/200"
    if not content_range or " " not in content_range:
        return None
    span = content_range.split(" ", 1)[1].split("/", 1)[0]
    return _int(span.split("-", 1)[0])


def _total(content_range: str | None) -> int | None:
    if not content_range or "/" not in content_range:
        return None
    return _int(content_range.rsplit("/", 1)[1])
