"""Look at a file's bytes before GDAL does: the driver allow-list, enforced on content.

pyogrio cannot restrict the GDAL drivers that may open a file (GDALOpenEx gets no list), so
a VRT or any other format renamed ``.geojson`` would reach its driver before the driver
check after opening. Each suffix's content is therefore checked first: GeoJSON must be a
JSON object nested no deeper than ``max_json_depth``, GeoPackage must be SQLite, a
shapefile must start with the shapefile magic number, and KML must be XML without DTD,
entity declarations or external references whose root element is ``kml`` and whose
``NetworkLink`` targets (GDAL follows them) are relative paths staying beside the file: LIBKML
writes a KMZ as a ``doc.kml`` linking ``layers/*.kml``, but a URL, an absolute path or ``..``
would read the network or any file.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as safe_et
import numpy as np

from ingest.errors import UnreadableFile
from ingest.limits import ContentMismatch, InputLimits, JsonTooDeep, UnsafeXml

__all__ = ["check_content", "check_kml", "json_depth"]

# A JSON string with its escapes; replaced by "" so brackets inside strings do not count.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENERS = (ord("["), ord("{"))
_CLOSERS = (ord("]"), ord("}"))
_CHUNK = 16 * 1024 * 1024
_SCHEME_OR_DRIVE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_MAGIC = {
    ".gpkg": (b"SQLite format 3\x00", "GeoPackage"),
    ".shp": (b"\x00\x00\x27\x0a", "Shapefile"),
}


def json_depth(data: bytes, stop_at: int | None = None) -> int:
    """Deepest nesting of arrays and objects in a JSON text, without parsing it.

    Runs in C and numpy (no recursion), so a document nested 10⁶ deep is measured as
    cheaply as a flat one. Stops counting once ``stop_at`` is passed.
    """
    stripped = _JSON_STRING.sub(b'""', data)
    depth = deepest = 0
    for start in range(0, len(stripped), _CHUNK):
        chunk = np.frombuffer(stripped, dtype=np.uint8, count=min(_CHUNK, len(stripped) - start),
                              offset=start)  # fmt: skip
        steps = np.isin(chunk, _OPENERS).astype(np.int64) - np.isin(chunk, _CLOSERS)
        levels = depth + np.cumsum(steps[steps != 0])
        if len(levels):
            deepest = max(deepest, int(levels.max()))
            depth = int(levels[-1])
        if stop_at is not None and deepest > stop_at:
            break
    return deepest


def _check_json(path: Path, limits: InputLimits) -> None:
    data = path.read_bytes()
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        raise ContentMismatch(path=path.name, kind="GeoJSON")
    depth = json_depth(data, stop_at=limits.max_json_depth)
    if depth > limits.max_json_depth:
        raise JsonTooDeep(path=path.name, limit=limits.max_json_depth)


def _local_link(href: str) -> bool:
    """Whether a NetworkLink target is a relative path that stays in the file's folder."""
    text = href.strip().replace("\\", "/")
    if not text or text.startswith("/") or _SCHEME_OR_DRIVE.match(text) or "://" in text:
        return False
    return ".." not in text.split("/")


def check_kml(path: Path, *, label: str | None = None) -> None:
    """Refuse KML that is not plain, self-contained XML with a ``kml`` root.

    Args:
        path: the KML file (for a KMZ: a file extracted from it).
        label: name to show in messages (default the file's name).

    Raises:
        UnsafeXml: a DTD, entity declaration or external reference, or a NetworkLink to a
            URL, an absolute path or through ``..``.
        ContentMismatch: the root element is not ``kml``.
        UnreadableFile: not well-formed XML.
    """
    name = label or path.name
    root_seen = False
    links = 0  # depth inside NetworkLink elements
    try:
        for event, element in safe_et.iterparse(
            str(path), events=("start", "end"), forbid_dtd=True, forbid_entities=True,
            forbid_external=True,
        ):  # fmt: skip
            local = str(element.tag).rsplit("}", 1)[-1]
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if local.lower() != "kml":
                        raise ContentMismatch(path=name, kind="KML")
                if local == "NetworkLink":
                    links += 1
            else:
                if local == "NetworkLink":
                    links -= 1
                elif links and local == "href" and not _local_link(element.text or ""):
                    raise UnsafeXml(path=name, reason="@limits_reason_network_link")
                element.clear()
    except defusedxml.DTDForbidden as exc:
        raise UnsafeXml(path=name, reason="@limits_reason_dtd") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise UnsafeXml(path=name, reason="@limits_reason_entities") from exc
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXml(path=name, reason="@limits_reason_external") from exc
    except ParseError as exc:
        raise UnreadableFile(path=name, detail=str(exc)) from exc


def check_content(path: Path, limits: InputLimits, *, label: str | None = None) -> None:
    """Check that ``path``'s bytes match its suffix before a GDAL driver opens it.

    Raises:
        ContentMismatch, JsonTooDeep, UnsafeXml, UnreadableFile.
    """
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        _check_json(path, limits)
    elif suffix == ".kml":
        check_kml(path, label=label)
    elif suffix in _MAGIC:
        magic, kind = _MAGIC[suffix]
        with path.open("rb") as handle:
            if handle.read(len(magic)) != magic:
                raise ContentMismatch(path=label or path.name, kind=kind)
