"""Find the scenes in local files: sen2r stacks (BOA + SCL) or one file per band.

sen2r names its outputs ``S2A2A_<yyyymmdd>_<orbit>_<aoi>_<product>_<res>.tif``: platform
(S2A/S2B), level (2A), date, relative orbit and area name come from the name. One file per
band is recognised by a band id in the name (``B04.tif``, ``T49RFL_20240501_B04_10m.tif``),
with the SCL named ``*SCL*.tif`` in the same folder; a date comes from ``--date`` or a
``yyyymmdd`` in the folder or file names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Final

from ingest.errors import IngestError, SourceMissing

__all__ = ["NoSceneFound", "SceneDateMissing", "SceneFiles", "SclMissing", "find_scenes"]

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
        platform: ``sentinel-2a`` / ``sentinel-2b``, if known.
        metadata: an ``MTD_MSIL2A.xml`` beside the files, if any.
    """

    scene_key: str
    acquired_at: datetime
    scl: Path
    boa: Path | None = None
    band_files: dict[str, Path] = field(default_factory=dict)
    orbit: int | None = None
    platform: str | None = None
    metadata: Path | None = None


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
        scenes.append(
            SceneFiles(
                scene_key=folder.name,
                acquired_at=_midnight(when),
                scl=scl,
                band_files=bands,
                orbit=orbit,
                metadata=mtd if mtd.is_file() else None,
            )
        )
    return scenes
