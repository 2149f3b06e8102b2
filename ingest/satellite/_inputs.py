"""Find the scenes in local files: sen2r stacks (BOA + SCL) or one file per band.

sen2r names its outputs ``S2A2A_<yyyymmdd>_<orbit>_<aoi>_<product>_<res>.tif``: platform
(S2A/S2B), level (2A), date, relative orbit and area name come from the name. One file per
band is recognised by a band id in the name (``B04.tif``, ``T49RFL_20240501_B04_10m.tif``),
with the SCL named ``*SCL*.tif`` in the same folder; a date comes from ``--date`` or a
``yyyymmdd`` in the folder or file names. Such a folder written by a remote source carries a
manifest (``download.json``) whose ``scene`` object states what the names cannot: platform,
relative orbit, MGRS tile and the catalogue's cloud cover (:class:`ManifestScene`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Final, TypedDict

from ingest.errors import IngestError, SourceMissing

__all__ = [
    "MANIFEST_NAME",
    "MTD_NAME",
    "ManifestScene",
    "NoSceneFound",
    "SceneDateMissing",
    "SceneFiles",
    "SclMissing",
    "find_scenes",
    "read_manifest_scene",
]

_SEN2R: Final = re.compile(
    r"^(?P<platform>S2[AB])2A_(?P<date>\d{8})_(?P<orbit>\d{3})_(?P<aoi>.+?)_"
    r"(?P<product>BOA|SCL)_(?P<res>\d+)\.tiff?$",
    re.IGNORECASE,
)
_BAND: Final = re.compile(r"(?:^|[_.-])(B(?:0[1-9]|1[0-2]|8A))(?:[_.-]|$)", re.IGNORECASE)
_DATE: Final = re.compile(r"(?<!\d)(20\d{6})(?!\d)")
_PLATFORMS: Final = {"S2A": "sentinel-2a", "S2B": "sentinel-2b", "S2C": "sentinel-2c"}
#: Metadata beside the files that states the processing baseline and BOA offsets.
MTD_NAME: Final = "MTD_MSIL2A.xml"
#: A remote source's record of a downloaded folder, written last (see :class:`ManifestScene`).
MANIFEST_NAME: Final = "download.json"
_TILE: Final = re.compile(r"^\d{2}[C-X][A-Z]{2}$")


class ManifestScene(TypedDict, total=False):
    """The ``scene`` object of a folder's manifest: catalogue facts about the scene.

    Each key may be missing or null when the catalogue does not say (or, for a mosaic of
    several items, when they disagree).

    Attributes:
        platform: ``sentinel-2a``, ``sentinel-2b`` or ``sentinel-2c``.
        orbit: relative orbit number (1–143).
        tile_id: MGRS tile, e.g. ``49RFL``.
        cloud_cover_pct: the catalogue's ``eo:cloud_cover`` of the scene, percent.
    """

    platform: str | None
    orbit: int | None
    tile_id: str | None
    cloud_cover_pct: float | None


class NoSceneFound(IngestError):
    """A path holds no BOA stack, band files or SCL that make a scene."""

    key = "ingest_satellite_error_no_scene"


class SclMissing(IngestError):
    """A scene's bands were found without its SCL file."""

    key = "ingest_satellite_error_scl_missing"


class SceneDateMissing(IngestError):
    """Neither the file names nor ``--date`` give the acquisition date."""

    key = "ingest_satellite_error_date_missing"


@dataclass(frozen=True)
class SceneFiles:
    """The files of one scene and what their names say.

    Attributes:
        scene_key: stable key of the scene within its source (sen2r: the name without the
            product and resolution, e.g. ``S2A2A_20190723_022_Barbellino``).
        acquired_at: acquisition time, UTC (the date at 00:00 UTC when only a date is known).
        scl: the Sen2Cor scene classification file.
        boa: the multi-band BOA stack, or None with ``band_files``.
        band_files: Sentinel-2 band id → file, when there is one file per band.
        orbit: relative orbit, if known.
        platform: ``sentinel-2a`` / ``sentinel-2b`` / ``sentinel-2c``, if known.
        metadata: an ``MTD_MSIL2A.xml`` beside the files, if any.
        tile_id: MGRS tile (``49RFL``), if known.
        cloud_cover_pct: cloud cover of the whole scene as its catalogue states it, percent.
    """

    scene_key: str
    acquired_at: datetime
    scl: Path
    boa: Path | None = None
    band_files: dict[str, Path] = field(default_factory=dict)
    orbit: int | None = None
    platform: str | None = None
    metadata: Path | None = None
    tile_id: str | None = None
    cloud_cover_pct: float | None = None


def _midnight(day: date) -> datetime:
    # Only the date is known: 00:00 UTC keeps the calendar date in UTC and in Asia/Shanghai
    # (08:00), so local-day filters and the chart put the observation on its day.
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _parse_date(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).date()


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in (".tif", ".tiff")))
        elif path.is_file():
            out.append(path)
        else:
            raise SourceMissing(path=str(path))
    return out


def find_scenes(
    paths: list[Path], *, day: date | None = None, orbit: int | None = None
) -> list[SceneFiles]:
    """The scenes in ``paths`` (folders or files), ordered by time then key.

    Args:
        paths: folders (their ``*.tif`` files) or files.
        day: acquisition date overriding the names (``--date``).
        orbit: relative orbit overriding the names (``--orbit``).

    Raises:
        SourceMissing: a path does not exist.
        NoSceneFound: nothing in ``paths`` makes a scene.
        SclMissing: bands without an SCL.
        SceneDateMissing: band files without a date in their names and no ``day``.
    """
    files = _files(paths)
    stacks: dict[str, dict[str, Path]] = {}
    meta: dict[str, re.Match[str]] = {}
    loose: list[Path] = []
    for path in files:
        match = _SEN2R.match(path.name)
        if match is None:
            loose.append(path)
            continue
        key = path.name[: match.start("product") - 1]
        stacks.setdefault(key, {})[match["product"].upper()] = path
        meta[key] = match
    scenes = [_sen2r_scene(key, parts, meta[key], day, orbit) for key, parts in stacks.items()]
    scenes.extend(_band_scenes(loose, day, orbit))
    if not scenes:
        raise NoSceneFound(path=", ".join(str(p) for p in paths))
    return sorted(scenes, key=lambda s: (s.acquired_at, s.scene_key))


def _sen2r_scene(
    key: str, parts: dict[str, Path], match: re.Match[str], day: date | None, orbit: int | None
) -> SceneFiles:
    if "SCL" not in parts:
        raise SclMissing(path=str(parts["BOA"]))
    if "BOA" not in parts:
        raise NoSceneFound(path=str(parts["SCL"]))
    mtd = parts["BOA"].parent / MTD_NAME
    return SceneFiles(
        scene_key=key,
        acquired_at=_midnight(day or _parse_date(match["date"])),
        scl=parts["SCL"],
        boa=parts["BOA"],
        orbit=orbit if orbit is not None else int(match["orbit"]),
        platform=_PLATFORMS.get(match["platform"].upper()),
        metadata=mtd if mtd.is_file() else None,
    )


def _band_scenes(loose: list[Path], day: date | None, orbit: int | None) -> list[SceneFiles]:
    by_folder: dict[Path, list[Path]] = {}
    for path in loose:
        by_folder.setdefault(path.parent, []).append(path)
    scenes = []
    for folder, paths in sorted(by_folder.items()):
        bands: dict[str, Path] = {}
        scl: Path | None = None
        for path in paths:
            if "SCL" in path.name.upper():
                scl = path
            elif (match := _BAND.search(path.stem + ".")) is not None:
                bands[match[1].upper()] = path
        if not bands:
            continue
        if scl is None:
            raise SclMissing(path=str(folder))
        when = day
        if when is None:
            found = _DATE.search(folder.name) or _DATE.search(min(paths).name)
            if found is None:
                raise SceneDateMissing(path=str(folder))
            when = _parse_date(found[1])
        mtd = folder / MTD_NAME
        facts = read_manifest_scene(folder)
        scenes.append(
            SceneFiles(
                scene_key=folder.name,
                acquired_at=_midnight(when),
                scl=scl,
                band_files=bands,
                orbit=orbit if orbit is not None else facts.get("orbit"),
                platform=facts.get("platform"),
                metadata=mtd if mtd.is_file() else None,
                tile_id=facts.get("tile_id"),
                cloud_cover_pct=facts.get("cloud_cover_pct"),
            )
        )
    return scenes


def read_manifest_scene(folder: Path) -> ManifestScene:
    """The well-formed facts of the ``scene`` object in ``folder``'s manifest, if any.

    A missing or unreadable manifest gives none; a value of the wrong type or out of range is
    left out (the column stays empty) rather than failing the ingest of good pixels.
    """
    try:
        record = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    raw = record.get("scene") if isinstance(record, dict) else None
    if not isinstance(raw, dict):
        return {}
    facts: ManifestScene = {}
    platform = raw.get("platform")
    if isinstance(platform, str) and platform.lower() in _PLATFORMS.values():
        facts["platform"] = platform.lower()
    orbit = raw.get("orbit")
    if isinstance(orbit, int) and not isinstance(orbit, bool) and 1 <= orbit <= 143:
        facts["orbit"] = orbit
    tile = raw.get("tile_id")
    if isinstance(tile, str) and _TILE.match(tile):
        facts["tile_id"] = tile
    cloud = raw.get("cloud_cover_pct")
    if isinstance(cloud, int | float) and not isinstance(cloud, bool) and 0 <= cloud <= 100:
        facts["cloud_cover_pct"] = float(cloud)
    return facts
