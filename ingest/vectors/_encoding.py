"""Text encodings of shapefile attributes and CSV files, and the DBF header.

A GBK shapefile without ``.cpg`` reads as Latin-1 mojibake with no error, so when no
``.cpg`` or ``--encoding`` says otherwise we read the text as ISO-8859-1 (each byte one
character, lossless), take the bytes back and try strict UTF-8, then GB18030 (a superset of
GBK), then the code page of the DBF language-driver byte.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ingest.errors import InvalidEncoding

__all__ = [
    "LATIN1",
    "DbfField",
    "DbfHeader",
    "check_codec",
    "decode_latin1_frame",
    "detect_encoding",
    "ldid_codepage",
    "read_dbf_header",
]

LATIN1 = "ISO-8859-1"

# DBF language driver ids (byte 29 of the header) for the code pages met in practice.
_LDID_CODEPAGES = {
    0x01: "CP437",
    0x02: "CP850",
    0x03: "CP1252",
    0x4D: "GB18030",  # 936, Chinese GBK (PRC)
    0x4E: "CP949",  # Korean
    0x4F: "CP950",  # Chinese Big5 (Taiwan)
    0x57: "CP1252",  # ANSI, as ArcGIS writes it
    0x7A: "GB18030",  # 936, PRC GBK (ArcGIS)
}


@dataclass(frozen=True)
class DbfField:
    """One DBF field descriptor: raw name bytes, type letter (C, N, F, D, L…), width, decimals."""

    name: bytes
    type: str
    width: int
    decimals: int


@dataclass(frozen=True)
class DbfHeader:
    """The parts of a DBF header we use: language driver id and field descriptors."""

    ldid: int
    fields: tuple[DbfField, ...]


def read_dbf_header(data: bytes) -> DbfHeader:
    """Parse the language driver byte and field descriptors of a dBASE III/IV file.

    Args:
        data: the file's first bytes (at least the header: 32 + 32 per field + 1).
    """
    if len(data) < 33:
        return DbfHeader(0, ())
    header_length = struct.unpack_from("<H", data, 8)[0]
    fields: list[DbfField] = []
    offset = 32
    while offset + 32 <= min(header_length, len(data)) and data[offset] != 0x0D:
        raw = data[offset : offset + 32]
        fields.append(
            DbfField(
                name=raw[:11].split(b"\x00", 1)[0],
                type=chr(raw[11]).upper(),
                width=raw[16],
                decimals=raw[17],
            )
        )
        offset += 32
    return DbfHeader(ldid=data[29], fields=tuple(fields))


def ldid_codepage(ldid: int) -> str | None:
    """Python codec name for a DBF language driver id, None when unknown or unset."""
    return _LDID_CODEPAGES.get(ldid)


def check_codec(name: str) -> str:
    """``name`` if Python knows the codec.

    Raises:
        InvalidEncoding: unknown codec name.
    """
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise InvalidEncoding(encoding=name, detail="unknown") from exc
    return name


def detect_encoding(samples: Iterable[bytes]) -> str | None:
    """``ASCII``, ``UTF-8`` or ``GB18030`` if every sample decodes strictly, else None."""
    blobs = [s for s in samples if s]
    if all(b.isascii() for b in blobs):
        return "ASCII"
    for encoding in ("UTF-8", "GB18030"):
        try:
            for blob in blobs:
                blob.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def latin1_samples(frame: pd.DataFrame) -> list[bytes]:
    """Bytes of every column name and string value of a frame read as ISO-8859-1."""
    samples = [str(name).encode(LATIN1, errors="replace") for name in frame.columns]
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            samples += [v.encode(LATIN1, errors="replace") for v in column if isinstance(v, str)]
    return samples


def decode_latin1_frame(frame: pd.DataFrame, encoding: str, *, path: str) -> pd.DataFrame:
    """Re-decode names and string values read as ISO-8859-1 with the real ``encoding``.

    Raises:
        InvalidEncoding: some text does not decode with ``encoding``.
    """

    def fix(value: object) -> object:
        if isinstance(value, str):
            return value.encode(LATIN1).decode(encoding)
        return value

    try:
        renamed = {name: fix(name) for name in frame.columns}
        out = frame.rename(columns=renamed)
        for name in out.columns:
            if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
                out[name] = out[name].map(fix).astype(object)
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise InvalidEncoding(encoding=encoding, detail=f"{path}: {exc}") from exc
    return out
