"""A real loopback STAC API with COG assets cut from the Barbellino clip (no mocking).

:class:`FakeStac` runs a :class:`~tests.ingest.satellite._loopback.LoopbackServer` serving:

* ``/`` (landing page, conformance item-search + query + filter) and ``/conformance``;
* ``/search`` (GET and POST) filtering by collections, bbox, datetime and ``eo:cloud_cover``
  (STAC ``query`` or a CQL2-JSON/-text comparison, as pystac-client sends them);
* ``/assets/<item>/<key>.tif``: band COGs (or plain GeoTIFFs) with Range support (206,
  Content-Range, Accept-Ranges; HEAD too); assets of ``signed`` items answer 403 unless the
  query string carries the token's ``sig``;
* ``/api/sas/v1/token/<collection>``: a Planetary-Computer-style SAS token endpoint;
* :attr:`FakeStac.truncate_once`: asset paths whose next full response is cut midway once;
* :attr:`FakeStac.log`: every request (method, path, query, Range header);
* :meth:`FakeStac.add`: an item served from then on (a newly published scene).

Items are shaped like the real ones in ``tests/data/stac-s2-l2a`` (Planetary Computer and
Earth Search v0; v1 is derived from v0 with v1's asset keys) with ids, dates, geometry, bbox,
``proj:*`` and hrefs rewritten to match the served rasters (EPSG:32632, the clip's grid).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import rasterio
import shapely
from pyproj import Transformer

from tests.ingest.satellite._loopback import LoopbackServer, QuietHandler
from tests.ingest.satellite.conftest import boa_path, scl_path

TEMPLATES = Path(__file__).parents[2] / "data" / "stac-s2-l2a"
PC_TEMPLATE = TEMPLATES / "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
ES0_TEMPLATE = TEMPLATES / "S2A_28QCH_20200714_0_L2A.json"
TOKEN = "st=2026-01-01T00%3A00%3A00Z&se=2099-01-01T00%3A00%3A00Z&sp=rl&sig=FAKESIG"
#: Earth Search v1 asset key of each band (the v0 / Planetary Computer key is the band id).
V1_KEYS = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B08": "nir",
           "B11": "swir16", "SCL": "scl"}  # fmt: skip
#: Served bands: band id → (1-based band in the sen2r BOA stack or 0 for the SCL, metres).
BANDS = {"B02": (2, 10), "B03": (3, 10), "B04": (4, 10), "B08": (8, 10), "B05": (5, 20),
         "B11": (10, 20), "SCL": (0, 20)}  # fmt: skip
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
]


@dataclass
class FakeItem:
    """One served item.

    Attributes:
        item_id: its id.
        clip_date: the Barbellino date its pixels come from (``20190723``).
        template: ``pc``, ``es0`` or ``es1`` (Earth Search v1 keys).
        when: its datetime (ISO, UTC).
        dn_add: DN added to every valid band pixel (1000 imitates baseline-04.00 data).
        properties: set on the item (baseline, cloud cover, offset flag …).
        collection: its collection.
        signed: its assets need the SAS token.
        plain_tiff: bands served as plain GeoTIFF (downloaded whole), not COG.
        host: asset host written in the hrefs (default the server's own ``127.0.0.1:port``).
    """

    item_id: str
    clip_date: str
    template: str
    when: str
    dn_add: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    collection: str = "sentinel-2-l2a"
    signed: bool = False
    plain_tiff: tuple[str, ...] = ()
    host: str | None = None


def band_arrays(clip_date: str, dn_add: int) -> dict[str, tuple[np.ndarray, Any]]:
    """Band id → (uint DN, transform) of a Barbellino date, 10 m or 20 m like the real tiles."""
    with rasterio.open(boa_path(clip_date)) as ds:
        boa, transform = ds.read(), ds.transform
    with rasterio.open(scl_path(clip_date)) as ds:
        scl, scl_transform = ds.read(1), ds.transform
    out: dict[str, tuple[np.ndarray, Any]] = {}
    for band, (number, res) in BANDS.items():
        if number == 0:
            out[band] = (scl, scl_transform)
            continue
        dn = boa[number - 1]
        if res == 20:
            dn = dn[::2, ::2]  # sen2r's 10 m B05/B11 repeat each 20 m pixel 2 x 2
        valid = (dn != 0) & (dn != 65535)
        dn = np.where(valid, dn.astype(np.int64) + dn_add, dn).astype(np.uint16)
        out[band] = (dn, transform * transform.scale(res / 10))
    return out


def write_band(path: Path, data: np.ndarray, transform: Any, *, cog: bool) -> None:
    """One band in EPSG:32632 as a COG (or a plain striped GeoTIFF)."""
    nodata = 0 if data.dtype == np.uint8 else 65535
    profile = {"driver": "COG" if cog else "GTiff", "dtype": data.dtype.name, "count": 1,
               "width": data.shape[1], "height": data.shape[0], "crs": "EPSG:32632",
               "transform": transform, "nodata": nodata, "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


class FakeStac(LoopbackServer):
    """The server; use as a context manager. ``url`` is its STAC API landing page."""

    def __init__(self, folder: Path, items: list[FakeItem]) -> None:
        super().__init__(_handler(self))
        self.folder = folder
        self.items = {i.item_id: i for i in items}
        self.log: list[dict[str, str]] = []
        self.truncate_once: set[str] = set()
        self.token_requests = 0
        self._lock = threading.Lock()
        self.files: dict[str, bytes] = {}
        self.served: dict[str, dict[str, Path]] = {}
        for item in items:
            self._write_assets(item)
        self.features = [self._feature(i) for i in items]

    def add(self, item: FakeItem) -> None:
        """Serve one more item from now on (a scene published after the server started)."""
        self.items[item.item_id] = item
        self._write_assets(item)
        feature = self._feature(item)  # searches find it only once its assets are served
        with self._lock:
            self.features.append(feature)

    def asset_path(self, item_id: str, band: str) -> str:
        """The URL path of one band of one item."""
        key = V1_KEYS[band] if self.items[item_id].template == "es1" else band
        return f"/assets/{item_id}/{key}.tif"

    def asset_requests(self) -> list[dict[str, str]]:
        """Logged requests for assets."""
        return [r for r in self.log if r["path"].startswith("/assets/")]

    def _write_assets(self, item: FakeItem) -> None:
        folder = self.folder / item.item_id
        folder.mkdir(parents=True)
        self.served[item.item_id] = {}
        for band, (data, transform) in band_arrays(item.clip_date, item.dn_add).items():
            path = folder / f"{band}.tif"
            write_band(path, data, transform, cog=band not in item.plain_tiff)
            self.files[self.asset_path(item.item_id, band)] = path.read_bytes()
            self.served[item.item_id][band] = path

    def _feature(self, item: FakeItem) -> dict[str, Any]:
        template = PC_TEMPLATE if item.template == "pc" else ES0_TEMPLATE
        feature: dict[str, Any] = copy.deepcopy(json.loads(template.read_text(encoding="utf-8")))
        with rasterio.open(boa_path(item.clip_date)) as ds:
            bounds, transform, shape = ds.bounds, ds.transform, ds.shape
        to_wgs84 = Transformer.from_crs(32632, 4326, always_xy=True)
        box = shapely.box(*bounds)
        lon, lat = to_wgs84.transform(*np.asarray(box.exterior.coords).T)
        polygon = shapely.Polygon(zip(lon, lat, strict=True))
        feature["id"] = item.item_id
        feature["collection"] = item.collection
        feature["stac_version"] = "1.0.0"
        feature["bbox"] = list(polygon.bounds)
        feature["geometry"] = shapely.geometry.mapping(polygon)
        feature["links"] = [{"rel": "self", "href": f"{self.url}/items/{item.item_id}"}]
        props = feature["properties"]
        props.update({"datetime": item.when, "proj:epsg": 32632, "platform": "sentinel-2a"})
        props.update(item.properties)
        host = item.host or f"127.0.0.1:{self.port}"
        assets: dict[str, Any] = {}
        for key, asset in feature["assets"].items():
            band = key if key in BANDS else None
            if item.template == "es1" and band is not None:
                key = V1_KEYS[band]
            asset = dict(asset)
            if band is not None:
                res = BANDS[band][1]
                asset["href"] = f"http://{host}{self.asset_path(item.item_id, band)}"
                plain = band in item.plain_tiff
                asset["type"] = "image/tiff; application=geotiff" if plain else COG_TYPE
                asset["proj:shape"] = [shape[0] * 10 // res, shape[1] * 10 // res]
                asset["proj:transform"] = list(transform * transform.scale(res / 10))[:6]
                asset.pop("proj:bbox", None)
            else:
                asset["href"] = f"http://{host}/assets/{item.item_id}/other/{key}"
            assets[key] = asset
        feature["assets"] = assets
        return feature

    # --- requests -------------------------------------------------------------------------

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """The FeatureCollection answering a search."""
        features = [f for f in self.features if _matches(f, params)]
        limit = int(params.get("limit") or 100)
        return {"type": "FeatureCollection", "features": features[:limit], "links": [],
                "numberReturned": len(features[:limit])}  # fmt: skip

    def landing(self) -> dict[str, Any]:
        """The landing page."""
        base = self.url
        return {
            "type": "Catalog", "id": "fake-stac", "stac_version": "1.0.0",
            "description": "SkyGround test STAC API (loopback)", "conformsTo": CONFORMANCE,
            "links": [
                {"rel": "self", "href": f"{base}/", "type": "application/json"},
                {"rel": "root", "href": f"{base}/", "type": "application/json"},
                {"rel": "conformance", "href": f"{base}/conformance"},
                {"rel": "search", "href": f"{base}/search", "method": "GET",
                 "type": "application/geo+json"},
                {"rel": "search", "href": f"{base}/search", "method": "POST",
                 "type": "application/geo+json"},
            ],
        }  # fmt: skip


def _interval(text: str) -> tuple[datetime, datetime]:
    def parse(value: str, end: bool) -> datetime:
        if value in ("", ".."):
            return datetime.max.replace(tzinfo=UTC) if end else datetime.min.replace(tzinfo=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    first, _, last = text.partition("/")
    return parse(first, False), parse(last if "/" in text else first, True)


_OPS = {"lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal,
        "eq": np.equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal, "=": np.equal}  # fmt: skip


def _matches(feature: dict[str, Any], params: dict[str, Any]) -> bool:
    props = feature["properties"]
    collections = params.get("collections")
    if isinstance(collections, str):
        collections = collections.split(",")
    if collections and feature["collection"] not in collections:
        return False
    bbox = params.get("bbox")
    if isinstance(bbox, str):
        bbox = [float(v) for v in bbox.split(",")]
    if bbox and not shapely.box(*bbox).intersects(shapely.box(*feature["bbox"])):
        return False
    if params.get("datetime"):
        start, end = _interval(params["datetime"])
        when = datetime.fromisoformat(props["datetime"].replace("Z", "+00:00"))
        if not start <= when <= end:
            return False
    query = params.get("query") or {}
    if isinstance(query, str):
        query = json.loads(query)
    for name, ops in query.items():
        for op, value in ops.items():
            if name not in props or not _OPS[op](props[name], value):
                return False
    return _filter_ok(params.get("filter"), props)


def _filter_ok(cql: Any, props: dict[str, Any]) -> bool:
    if not cql:
        return True
    if isinstance(cql, str):  # cql2-text: "eo:cloud_cover <= 50" joined by AND
        for clause in cql.split(" AND "):
            name, op, value = clause.split()
            if not _OPS[op](props.get(name), float(value)):
                return False
        return True
    if cql.get("op") == "and":
        return all(_filter_ok(arg, props) for arg in cql["args"])
    left, right = cql["args"]
    return bool(_OPS[cql["op"]](props.get(left["property"]), right))


def _handler(fake: FakeStac) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def _record(self) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            with fake._lock:
                fake.log.append({"method": self.command, "path": parts.path,
                                 "query": parts.query,
                                 "range": self.headers.get("Range", "")})  # fmt: skip
            return parts.path, parse_qs(parts.query)

        def _json(self, data: Any, status: int = 200) -> None:
            self.reply(status, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802
            path, query = self._record()
            if path in ("", "/"):
                return self._json(fake.landing())
            if path == "/conformance":
                return self._json({"conformsTo": CONFORMANCE})
            if path == "/search":
                params = {k: v[0] for k, v in query.items()}
                return self._json(fake.search(params))
            if path.startswith("/api/sas/v1/token/"):
                fake.token_requests += 1
                expiry = datetime.now(UTC) + timedelta(hours=1)
                return self._json({"msft:expiry": expiry.isoformat(), "token": TOKEN})
            return self._asset(path, query, body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            path, query = self._record()
            self._asset(path, query, body=False)

        def do_POST(self) -> None:  # noqa: N802
            path, _ = self._record()
            length = int(self.headers.get("Content-Length") or 0)
            params = json.loads(self.rfile.read(length) or b"{}")
            if path == "/search":
                return self._json(fake.search(params))
            return self._json({"code": "NotFound"}, 404)

        def _asset(self, path: str, query: dict[str, list[str]], *, body: bool) -> None:
            data = fake.files.get(path)
            if data is None:
                return self._json({"code": "NotFound", "path": path}, 404)
            item = fake.items[path.split("/")[2]]
            if item.signed and query.get("sig") != ["FAKESIG"]:
                return self._json({"code": "AuthenticationFailed"}, 403)
            start, end, status = 0, len(data) - 1, 200
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes="):
                first, _, last = wanted[6:].partition("-")
                start = int(first)
                end = min(int(last), len(data) - 1) if last else len(data) - 1
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                status = 206
            chunk = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "image/tiff")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(chunk)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if not body:
                return None
            with fake._lock:
                cut = path in fake.truncate_once and len(chunk) > 1
                fake.truncate_once.discard(path)
            if cut:
                self.wfile.write(chunk[: len(chunk) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            self.wfile.write(chunk)
            return None

    return Handler
