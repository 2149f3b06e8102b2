"""Hostile input files for the upload and ingest tests, built in memory (nothing stored).

:data:`HOSTILE` lists the upload cases with the status each must get; :data:`RASTER_CASES`
the rasters for ``skyground ingest satellite``.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

# ---------------------------------------------------------------- file builders


def feature(code: str, ring: list[list[float]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": f"上传 {code}"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def square(west: float, south: float, size: float = 0.001) -> list[list[float]]:
    return [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]


def geojson(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


VALID = geojson(feature("UP-0001", square(111.2, 28.31)), feature("UP-0002", square(111.4, 28.3)))


def zip_bytes(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """60 KB that inflate to 64 MiB of zeros (ratio ≈ 1000:1)."""
    return zip_bytes([("bomb.shp", bytes(64 * 1024 * 1024))])


def zip_lying_header() -> bytes:
    """A zip whose headers declare 100 bytes for an entry that inflates to 8 MiB."""
    data = bytearray(zip_bytes([("plots.shp", bytes(8 * 1024 * 1024))]))
    true_size = struct.pack("<I", 8 * 1024 * 1024)
    fake = struct.pack("<I", 100)
    # Local header: uncompressed size at offset 22; central directory: at offset 24.
    assert data[22:26] == true_size
    data[22:26] = fake
    central = data.rfind(b"PK\x01\x02")
    assert data[central + 24 : central + 28] == true_size
    data[central + 24 : central + 28] = fake
    return bytes(data)


def symlink_zip() -> bytes:
    info = zipfile.ZipInfo("plots.shp")
    info.external_attr = (0o120777 << 16) | 0  # S_IFLNK
    return zip_bytes([(info, b"/etc/passwd")])


def duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plots.shp", b"\x00\x00\x27\x0a")
        with pytest.warns(UserWarning):
            archive.writestr("plots.shp", b"\x00\x00\x27\x0a")
    return buffer.getvalue()


KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
KML_BODY = (
    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&x;</name>'
    "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
    "111.2,28.3 111.201,28.3 111.201,28.301 111.2,28.3"
    "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"
)
XXE_KML = KML_HEAD + '<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + KML_BODY
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS_KML = (
    KML_HEAD + '<!DOCTYPE kml [<!ENTITY l0 "lol">' + LAUGHS + '<!ENTITY x "&l9;">]>' + KML_BODY
)
NETWORK_LINK_KML = (
    KML_HEAD + '<kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink><Link>'
    "<href>http://127.0.0.1:9/x.kml</href></Link></NetworkLink></kml>"
)
VRT = (
    b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
    b"</OGRVRTLayer></OGRVRTDataSource>"
)


def nested_json(depth: int) -> bytes:
    inner = "[" * depth + "]" * depth
    return ('{"type": "FeatureCollection", "features": ' + inner + "}").encode()


def many_vertices(count: int) -> bytes:
    angles = np.linspace(0, 2 * math.pi, count, endpoint=False)
    ring = np.column_stack([111.2 + 0.001 * np.cos(angles), 28.31 + 0.001 * np.sin(angles)])
    coords = [*ring.round(7).tolist(), ring[0].round(7).tolist()]
    return geojson(feature("UP-BIG", coords))


def nan_geojson() -> bytes:
    ring = square(111.2, 28.31)
    ring[1] = [float("nan"), 28.31]
    return geojson(feature("UP-NAN", ring))


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One hostile upload: a file name, its bytes (or a builder) and the expected status."""

    name: str
    filename: str
    content: bytes | Callable[[], bytes]
    status: int
    detail: str = ""
    params: dict[str, str] | None = None

    def data(self) -> bytes:
        return self.content() if callable(self.content) else self.content


HOSTILE = [
    Case("zip bomb (ratio)", "bomb.zip", zip_bomb, 422, "inflates"),
    Case("zip lying header", "lie.zip", zip_lying_header, 422, "not a readable"),
    Case("zip slip ../x.shp", "slip.zip", lambda: zip_bytes([("../x.shp", b"x")]), 422, ".."),
    Case(
        "zip absolute entry", "abs.zip", lambda: zip_bytes([("/tmp/x.shp", b"x")]), 422, "absolute"
    ),
    Case("zip drive letter", "c.zip", lambda: zip_bytes([("C:\\x.shp", b"x")]), 422, "drive"),
    Case("zip symlink entry", "link.zip", symlink_zip, 422, "symbolic link"),
    Case("zip duplicate names", "dup.zip", duplicate_zip, 422, "same name"),
    Case(
        "zip too many entries",
        "many.zip",
        lambda: zip_bytes([(f"f{i}.txt", b"") for i in range(1001)]),
        422,
        "1001 entries",
    ),
    Case("kmz with XXE kml", "x.kmz", lambda: zip_bytes([("doc.kml", XXE_KML.encode())]), 422),
    Case("XXE KML", "xxe.kml", XXE_KML.encode(), 422, "DOCTYPE"),
    Case("billion laughs KML", "lol.kml", BILLION_LAUGHS_KML.encode(), 422, "DOCTYPE"),
    Case("KML NetworkLink", "net.kml", NETWORK_LINK_KML.encode(), 422, "NetworkLink"),
    Case("NaN coordinates", "nan.geojson", nan_geojson, 422, "NaN"),
    Case("10^6-vertex polygon", "big.geojson", lambda: many_vertices(1_000_000), 422, "vertices"),
    Case("GeoJSON nested 10,000 deep", "deep.geojson", nested_json(10_000), 422, "deeper"),
    Case("VRT named .geojson", "vrt.geojson", VRT, 422, "GeoJSON"),
    Case("VRT named .gpkg", "vrt.gpkg", VRT, 422, "GeoPackage"),
    Case("VRT named .kml", "vrt.kml", VRT, 422, "KML"),
    Case("VRT named .vrt", "x.vrt", VRT, 400, "suffix"),
    Case("truncated GeoJSON", "cut.geojson", VALID[: len(VALID) // 2], 422),
    Case("truncated zip", "cut.zip", lambda: zip_bytes([("a.shp", b"x" * 5000)])[:100], 422),
    Case("traversal filename", "../../etc/passwd", VALID, 400, "suffix"),
    Case("URL as a CRS", "ok.geojson", VALID, 422, params={"crs": "http://127.0.0.1:9/x"}),
]


def huge_tiff(path: Path) -> None:
    """A sparse GeoTIFF of a few KB that declares 31623 × 31623 float32 pixels (10⁹)."""
    with rasterio.open(
        path, "w", driver="GTiff", width=31623, height=31623, count=1, dtype="float32",
        crs="EPSG:32649", transform=from_origin(600000, 3200000, 10, 10), tiled=True,
        SPARSE_OK=True, compress="deflate",
    ) as ds:  # fmt: skip
        assert ds.width * ds.height >= 10**9


def vrt_tiff(path: Path) -> None:
    path.write_text(
        '<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand dataType="Byte" band="1">'
        "<SimpleSource><SourceFilename>/etc/passwd</SourceFilename></SimpleSource>"
        "</VRTRasterBand></VRTDataset>"
    )


def truncated_tiff(path: Path) -> None:
    with rasterio.open(
        path, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint16",
        crs="EPSG:32649", transform=from_origin(600000, 3200000, 10, 10),
    ) as ds:  # fmt: skip
        ds.write(np.arange(64 * 64, dtype="uint16").reshape(1, 64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


RASTER_CASES = {
    "TIFF declaring 10^9 pixels": (huge_tiff, "memory budget"),
    "VRT named .tif": (vrt_tiff, "GeoTIFF"),
    "truncated TIFF": (truncated_tiff, ""),
}
