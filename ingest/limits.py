"""Safety limits of every input file, for the CLI and the upload API alike.

Hostile files are refused before they cost memory or reach GDAL's less-trodden paths:
archive bombs and path tricks (:mod:`ingest.vectors._archives`), XML entity expansion and
external entities in KML, JSON nested past any real GeoJSON, features with absurd vertex
counts, rasters whose declared size would not fit in memory, and GDAL virtual-file or
network paths. Limits come from ``SKYGROUND_INGEST_*`` environment variables; texts live in
``models/i18n/limits.toml``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.errors import IngestError, UnreadableFile

__all__ = [
    "ArchiveRatioTooHigh",
    "ArchiveTooLarge",
    "ArchiveTooManyEntries",
    "ContentMismatch",
    "InputLimits",
    "JsonTooDeep",
    "RasterTooLarge",
    "UnreadableRaster",
    "UnsafeArchiveEntry",
    "UnsafePath",
    "UnsafeXml",
    "check_local_path",
]

MIB = 1024 * 1024


class InputLimits(BaseSettings):
    """Caps on what one input file may contain (``SKYGROUND_INGEST_*``)."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_INGEST_", extra="ignore")

    max_archive_entries: int = Field(
        default=1000, ge=1, description="Entries a .zip or .kmz may hold."
    )
    max_archive_bytes: int = Field(
        default=1024 * MIB,
        ge=1,
        description="Bytes an archive may inflate to, counted while inflating (all entries).",
    )
    max_compression_ratio: float = Field(
        default=200.0,
        gt=1,
        description="Inflated/compressed size an archive entry over 1 MiB may reach.",
    )
    max_vertices: int = Field(default=100_000, ge=4, description="Vertices of one feature.")
    max_json_depth: int = Field(
        default=64, ge=8, description="Nesting depth of a GeoJSON document (arrays and objects)."
    )
    raster_memory_bytes: int = Field(
        default=2048 * MIB,
        ge=MIB,
        description="Width × height × bands × bytes per sample a raster may declare.",
    )


def check_local_path(path: str | Path) -> None:
    """Refuse GDAL virtual-file-system prefixes and URLs: only plain local files are read.

    Raises:
        UnsafePath: ``path`` starts with ``/vsi`` or holds ``://``.
    """
    text = str(path)
    if text.lower().startswith("/vsi") or "://" in text:
        raise UnsafePath(path=text)


class UnsafePath(IngestError):
    """A GDAL virtual-file (``/vsi…``) path or a URL where a local file was expected."""

    key = "limits_error_unsafe_path"


class ArchiveTooManyEntries(IngestError):
    """An archive holds more entries than the limit."""

    key = "limits_error_archive_entries"


class ArchiveTooLarge(IngestError):
    """An archive inflates to more bytes than the limit."""

    key = "limits_error_archive_size"


class ArchiveRatioTooHigh(IngestError):
    """An archive entry inflates far more than real data does (a zip bomb)."""

    key = "limits_error_archive_ratio"


class UnsafeArchiveEntry(IngestError):
    """An entry name or kind that could write outside the extraction folder, or is ambiguous.

    ``reason`` is a ``@limits_reason_*`` key: ``..``, absolute path, drive letter, symbolic
    link, duplicate name, encryption.
    """

    key = "limits_error_archive_entry"


class UnsafeXml(IngestError):
    """XML with a DTD, entity declarations or external references (billion laughs, XXE)."""

    key = "limits_error_unsafe_xml"


class ContentMismatch(UnreadableFile):
    """The file's bytes are not of the kind its suffix promises (a VRT named .geojson)."""

    key = "limits_error_content"


class JsonTooDeep(IngestError):
    """A JSON document nests arrays and objects deeper than the limit."""

    key = "limits_error_json_depth"


class UnreadableRaster(IngestError):
    """GDAL cannot open the file as a GeoTIFF (the only raster driver allowed)."""

    key = "limits_error_raster_unreadable"


class RasterTooLarge(IngestError):
    """A raster declares more pixels than the memory budget allows."""

    key = "limits_error_raster_size"
