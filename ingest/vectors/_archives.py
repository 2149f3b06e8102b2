"""Checked extraction of .zip (zipped shapefiles) and .kmz archives into a fresh folder.

GDAL's ``/vsizip/`` would read an archive in place, trusting its headers; we check the whole
archive first and extract only what passes, so GDAL then sees plain local files:

* entry count against ``max_archive_entries``;
* names: no ``..`` part, no absolute path, no drive letter, no NUL, no symbolic link, no
  encrypted entry, no two entries with the same name (compared case-insensitively, as on
  the file systems the archives come from);
* size: declared sizes first, then the bytes actually inflated are counted against
  ``max_archive_bytes`` (the headers are not trusted), and each entry over 1 MiB against
  ``max_compression_ratio``.
"""

from __future__ import annotations

import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ingest.errors import UnreadableFile
from ingest.limits import (
    MIB,
    ArchiveRatioTooHigh,
    ArchiveTooLarge,
    ArchiveTooManyEntries,
    InputLimits,
    UnsafeArchiveEntry,
)

__all__ = ["extracted", "safe_parts"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = MIB


def safe_parts(archive: str, name: str) -> tuple[str, ...]:
    """The folder parts of an entry name, or :class:`UnsafeArchiveEntry`.

    Backslashes count as separators (archives made on Windows).
    """
    text = name.replace("\\", "/")
    reason = None
    if "\x00" in text:
        reason = "@limits_reason_nul"
    elif _DRIVE.match(text):
        reason = "@limits_reason_drive"
    elif text.startswith("/"):
        reason = "@limits_reason_absolute"
    elif ".." in PurePosixPath(text).parts:
        reason = "@limits_reason_parent"
    if reason is not None:
        raise UnsafeArchiveEntry(path=archive, entry=name, reason=reason)
    return tuple(p for p in PurePosixPath(text).parts if p not in ("", "."))


def _check_entries(archive: str, infos: list[zipfile.ZipInfo], limits: InputLimits) -> None:
    if len(infos) > limits.max_archive_entries:
        raise ArchiveTooManyEntries(
            path=archive, count=len(infos), limit=limits.max_archive_entries
        )
    seen: set[str] = set()
    declared = 0
    for info in infos:
        parts = safe_parts(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchiveEntry(
                path=archive, entry=info.filename, reason="@limits_reason_symlink"
            )
        if info.flag_bits & 0x1:
            raise UnsafeArchiveEntry(
                path=archive, entry=info.filename, reason="@limits_reason_encrypted"
            )
        key = "/".join(parts).casefold()
        if key in seen and not info.is_dir():
            raise UnsafeArchiveEntry(
                path=archive, entry=info.filename, reason="@limits_reason_duplicate"
            )
        seen.add(key)
        declared += info.file_size
        _check_ratio(archive, info, info.file_size, limits)
    if declared > limits.max_archive_bytes:
        raise ArchiveTooLarge(path=archive, limit=limits.max_archive_bytes)


def _check_ratio(archive: str, info: zipfile.ZipInfo, inflated: int, limits: InputLimits) -> None:
    if inflated <= MIB:
        return
    ratio = inflated / max(info.compress_size, 1)
    if ratio > limits.max_compression_ratio:
        raise ArchiveRatioTooHigh(
            path=archive,
            entry=info.filename,
            ratio=round(ratio),
            limit=round(limits.max_compression_ratio),
        )


def _inflate(
    archive: str, source: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int,
    limits: InputLimits,
) -> int:  # fmt: skip
    """Write one entry to ``target``, counting inflated bytes; the bytes written."""
    written = 0
    with source.open(info) as reader, target.open("xb") as out:
        while chunk := reader.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise ArchiveTooLarge(path=archive, limit=limits.max_archive_bytes)
            _check_ratio(archive, info, written, limits)
            out.write(chunk)
    return written


@contextmanager
def extracted(
    path: Path, limits: InputLimits, *, scratch: Path | None = None
) -> Iterator[tuple[Path, list[str]]]:
    """Check ``path`` and extract it into a fresh folder, removed on exit.

    Args:
        path: a .zip or .kmz file.
        limits: the caps to apply.
        scratch: parent of the extraction folder (default: the system temporary folder).

    Yields:
        The folder and the extracted files' names relative to it (``/``-separated).

    Raises:
        UnreadableFile: not a zip archive, or an entry is corrupt (CRC or size mismatch).
        ArchiveTooManyEntries, ArchiveTooLarge, ArchiveRatioTooHigh, UnsafeArchiveEntry.
    """
    name = path.name
    with tempfile.TemporaryDirectory(prefix="skyground-unzip-", dir=scratch) as tmp:
        folder = Path(tmp)
        names: list[str] = []
        try:
            with zipfile.ZipFile(path) as source:
                infos = source.infolist()
                _check_entries(name, infos, limits)
                budget = limits.max_archive_bytes
                for info in infos:
                    parts = safe_parts(name, info.filename)
                    if info.is_dir() or not parts:
                        continue
                    target = folder.joinpath(*parts)
                    # Belt and braces: the checked parts cannot leave the folder.
                    if not target.resolve().is_relative_to(folder.resolve()):
                        raise UnsafeArchiveEntry(
                            path=name, entry=info.filename, reason="@limits_reason_parent"
                        )
                    target.parent.mkdir(parents=True, exist_ok=True)
                    budget -= _inflate(name, source, info, target, budget, limits)
                    names.append("/".join(parts))
        except FileExistsError as exc:
            raise UnsafeArchiveEntry(
                path=name, entry=str(exc.filename or ""), reason="@limits_reason_duplicate"
            ) from exc
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
            raise UnreadableFile(path=name, detail=str(exc)) from exc
        yield folder, names
