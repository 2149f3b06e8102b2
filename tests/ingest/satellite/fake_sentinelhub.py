"""A real loopback Sentinel Hub (OAuth, Catalog API, Process API) over the Barbellino clip.

:class:`FakeSentinelHub` runs a :class:`~tests.ingest.satellite._loopback.LoopbackServer`
serving:

* ``POST /oauth/token``: OAuth client credentials (form body ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``); tokens expire after :attr:`token_expires_s`, and
  :meth:`revoke_tokens` / :attr:`revoke_after_process` end them early (then 401);
* ``POST /api/v1/catalog/1.0.0/search``: STAC items shaped like Sentinel Hub's, filtered by
  collection, bbox, datetime and a CQL2-text ``eo:cloud_cover <= x`` filter;
* ``POST /api/v1/process``: parses bounds (bbox + CRS), output width/height, the time range,
  maxCloudCoverage and the evalscript (which must name every band and dataMask and ask for
  UINT16) and answers a multi-band ``image/tiff`` cut from the clip's BOA stack and SCL for that
  grid (nearest), in the evalscript's band order, dataMask 0 off the clip;
* switches: :attr:`rate_limit_once` (one 429 with ``Retry-After`` in milliseconds, as Sentinel
  Hub sends it), :attr:`quota_exhausted` (403 with a quota message);
* :attr:`log`: every request (time, method, path, status, Authorization header, JSON body).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import rasterio
import shapely
from pyproj import Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rasterio.warp import Resampling, reproject

from tests.ingest.satellite._loopback import LoopbackServer, QuietHandler
from tests.ingest.satellite.conftest import boa_path, scl_path

CLIENT_ID = "skyground-test"
CLIENT_SECRET = "s3cret-test"
#: Evalscript band → 1-based band of the sen2r BOA stack (0: the SCL file; -1: dataMask).
STACK = {"B02": 2, "B03": 3, "B04": 4, "B05": 5, "B08": 8, "B11": 10, "SCL": 0, "dataMask": -1}
_QUOTA_MESSAGE = "You have exceeded your processing units quota for this month."


@dataclass(frozen=True)
class FakeScene:
    """One served catalogue item: its id, time (ISO, UTC), cloud cover and clip date."""

    item_id: str
    when: str
    cloud_pct: float
    clip_date: str


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeSentinelHub(LoopbackServer):
    """The server; use as a context manager. ``url`` is its base URL, ``token_url`` OAuth's."""

    def __init__(self, scenes: list[FakeScene]) -> None:
        super().__init__(_handler(self))
        self.scenes = scenes
        self.log: list[dict[str, Any]] = []
        self.token_expires_s = 300  # short, like real tokens (CDSE: 10 min)
        self.revoke_after_process: int | None = None
        self.rate_limit_once = False
        self.retry_after_ms = 1000
        self.quota_exhausted = False
        self.tokens: dict[str, float] = {}  # token → monotonic expiry
        self.served_process = 0
        self._lock = threading.Lock()
        self.token_url = f"{self.url}/oauth/token"
        with rasterio.open(boa_path(scenes[0].clip_date)) as ds:
            bounds = ds.bounds
        lon, lat = Transformer.from_crs(32632, 4326, always_xy=True).transform(
            *np.asarray(shapely.box(*bounds).exterior.coords).T
        )
        self.footprint = shapely.Polygon(zip(lon, lat, strict=True))

    def revoke_tokens(self) -> None:
        """End every token issued so far (the next request with one gets 401)."""
        with self._lock:
            self.tokens.clear()

    def requests(self, path: str) -> list[dict[str, Any]]:
        """Logged requests to ``path``."""
        return [r for r in self.log if r["path"] == path]

    # --- answers --------------------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The OAuth token endpoint."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        with self._lock:
            token = f"tok-{len(self.requests('/oauth/token'))}-{time.monotonic_ns()}"
            self.tokens[token] = time.monotonic() + self.token_expires_s
        return 200, {"access_token": token, "token_type": "Bearer",
                     "expires_in": self.token_expires_s}  # fmt: skip

    def authorised(self, header: str) -> bool:
        """Whether an Authorization header carries a live token."""
        token = header.removeprefix("Bearer ")
        with self._lock:
            expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def feature(self, scene: FakeScene) -> dict[str, Any]:
        """A catalogue item like Sentinel Hub's (sentinel-2-l2a)."""
        return {
            "stac_version": "1.0.0",
            "stac_extensions": ["https://stac-extensions.github.io/eo/v1.0.0/schema.json",
                                "https://stac-extensions.github.io/projection/v1.0.0/schema.json"],
            "id": scene.item_id, "type": "Feature", "collection": "sentinel-2-l2a",
            "geometry": shapely.geometry.mapping(self.footprint),
            "bbox": list(self.footprint.bounds),
            "properties": {"datetime": scene.when, "platform": "sentinel-2a",
                           "instruments": ["msi"], "constellation": "sentinel-2", "gsd": 10,
                           "eo:cloud_cover": scene.cloud_pct, "proj:epsg": 32632},
            "assets": {}, "links": [],
        }  # fmt: skip

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        """The Catalog API's answer (one page)."""
        start, _, end = str(body.get("datetime", "../..")).partition("/")
        limit = float("inf")
        match = re.search(r"eo:cloud_cover\s*<=\s*([\d.]+)", str(body.get("filter") or ""))
        if match:
            limit = float(match[1])
        box = shapely.box(*body.get("bbox", [-180, -90, 180, 90]))
        features = []
        for scene in self.scenes:
            when = _parse_time(scene.when)
            if start not in ("", "..") and when < _parse_time(start):
                continue
            if end not in ("", "..") and when > _parse_time(end):
                continue
            if scene.cloud_pct > limit or not box.intersects(self.footprint):
                continue
            if body.get("collections") not in (None, ["sentinel-2-l2a"]):
                continue
            features.append(self.feature(scene))
        context = {"limit": body.get("limit", 100), "returned": len(features)}
        return {"type": "FeatureCollection", "features": features, "links": [], "context": context}

    def process(self, body: dict[str, Any]) -> tuple[int, bytes | dict[str, Any]]:
        """The Process API: a multi-band TIFF or a 400 naming what is wrong."""
        evalscript = str(body.get("evalscript", ""))
        order = re.search(r"return \[(.*?)\]", evalscript, re.S)
        if order is None or "UINT16" not in evalscript:
            return 400, {"error": {"status": 400, "message": "evalscript not understood"}}
        bands = [name.strip().removeprefix("s.") for name in order[1].split(",")]
        if sorted(bands) != sorted(STACK) or any(f'"{b}"' not in evalscript for b in bands):
            return 400, {"error": {"status": 400, "message": f"bands {bands}"}}
        bounds = body["input"]["bounds"]
        epsg = int(bounds["properties"]["crs"].rsplit("/", 1)[1])
        output = body.get("output", {})
        west, south, east, north = bounds["bbox"]
        if "width" in output:
            width, height = int(output["width"]), int(output["height"])
        else:
            width = round((east - west) / output["resx"])
            height = round((north - south) / output["resy"])
        data = body["input"]["data"][0]
        span = data.get("dataFilter", {}).get("timeRange", {})
        cloud = float(data.get("dataFilter", {}).get("maxCloudCoverage", 100))
        if data.get("processing", {}).get("harmonizeValues") is False:
            return 400, {"error": {"status": 400, "message": "the fake serves harmonised DN"}}
        first, last = _parse_time(span["from"]), _parse_time(span["to"])
        scenes = [
            s for s in self.scenes if s.cloud_pct <= cloud and first <= _parse_time(s.when) < last
        ]
        transform = from_bounds(west, south, east, north, width, height)
        out = np.zeros((len(bands), height, width), dtype=np.uint16)
        if scenes:
            chosen = max(scenes, key=lambda s: s.when)  # mostRecent
            for number, band in enumerate(bands):
                out[number] = _band(chosen.clip_date, band, epsg, transform, (height, width))
        with MemoryFile() as memory:
            profile = {"driver": "GTiff", "dtype": "uint16", "count": len(bands),
                       "width": width, "height": height, "crs": f"EPSG:{epsg}",
                       "transform": transform}  # fmt: skip
            with memory.open(**profile) as dst:
                dst.write(out)
            return 200, bytes(memory.read())


def _band(clip_date: str, band: str, epsg: int, transform: Any, shape: tuple[int, int]) -> Any:
    number = STACK[band]
    path = scl_path(clip_date) if number == 0 else boa_path(clip_date)
    with rasterio.open(path) as ds:
        source = ds.read(1 if number <= 0 else number)
        if number == -1:
            source = np.ones_like(source)
        target = np.zeros(shape, dtype=np.uint16)
        reproject(source.astype(np.uint16), target, src_transform=ds.transform, src_crs=ds.crs,
                  dst_transform=transform, dst_crs=f"EPSG:{epsg}", src_nodata=None,
                  dst_nodata=0, resampling=Resampling.nearest)  # fmt: skip
    return target


def _handler(fake: FakeSentinelHub) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def _send(self, status: int, body: bytes | dict[str, Any], **headers: str) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            kind = "image/tiff" if isinstance(body, bytes) else "application/json"
            named = {name.replace("_", "-"): value for name, value in headers.items()}
            self.reply(status, data, kind, named)
            with fake._lock:
                self._entry["status"] = status

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._entry: dict[str, Any] = {
                "time": time.monotonic(), "method": "POST", "path": self.path,
                "auth": self.headers.get("Authorization", ""), "status": None, "body": None,
            }  # fmt: skip
            with fake._lock:
                fake.log.append(self._entry)
            if self.path == "/oauth/token":
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                return self._send(*fake.issue_token(form))
            body = json.loads(raw or b"{}")
            self._entry["body"] = body
            if self.path not in ("/api/v1/catalog/1.0.0/search", "/api/v1/process"):
                return self._send(404, {"error": {"status": 404, "message": self.path}})
            if not fake.authorised(self._entry["auth"]):
                expired = {"status": 401, "reason": "Unauthorized", "message": "Token expired"}
                return self._send(401, {"error": expired})
            if self.path.endswith("/search"):
                return self._send(200, fake.search(body))
            if fake.quota_exhausted:
                quota = {"status": 403, "reason": "Forbidden", "message": _QUOTA_MESSAGE}
                return self._send(403, {"error": quota})
            with fake._lock:
                limited, fake.rate_limit_once = fake.rate_limit_once, False
            if limited:
                return self._send(429, {"error": {"status": 429, "reason": "Too Many Requests"}},
                                  Retry_After=str(fake.retry_after_ms))  # fmt: skip
            status, answer = fake.process(body)
            self._send(status, answer)
            with fake._lock:
                fake.served_process += status == 200
                if fake.revoke_after_process == fake.served_process:
                    fake.tokens.clear()
            return None

    return Handler
