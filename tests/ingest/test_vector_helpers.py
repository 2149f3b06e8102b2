"""Pure helpers of the vector reader: GK zones, DBF header, encoding detection, messages."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from pyproj import CRS

import ingest
import service.cli as cli
from ingest.errors import AxesSwapped, InvalidCrs, ZonePrefixMismatch
from ingest.vectors._crs import gk_zone, parse_crs, resolve_gk_prefix
from ingest.vectors._encoding import detect_encoding, read_dbf_header
from models.i18n import catalogue, placeholders

CLI_FILES = ("plots.py", "admin_units.py")


@pytest.mark.parametrize(
    ("epsg", "zone", "cm", "prefixed", "partner"),
    [
        (4546, 37, 111, False, 4525),
        (4525, 37, 111, True, 4546),
        (4534, 25, 75, False, 4513),
        (4533, 45, 135, True, 4554),
        (4508, 19, 111, False, 4497),  # 6° zones
    ],
)
def test_gk_zone_table_matches_the_epsg_definitions(epsg, zone, cm, prefixed, partner):
    found = gk_zone(CRS.from_epsg(epsg))
    assert found is not None
    assert (found.zone, found.central_meridian, found.prefixed, found.partner) == (
        zone,
        cm,
        prefixed,
        partner,
    )
    params = {p.name: p.value for p in CRS.from_epsg(epsg).coordinate_operation.params}
    assert params["Longitude of natural origin"] == cm
    assert params["False easting"] == (zone * 1_000_000 if prefixed else 0) + 500_000


def test_non_gk_crs_is_left_alone():
    assert gk_zone(CRS.from_epsg(32649)) is None
    crs, notes = resolve_gk_prefix(
        CRS.from_epsg(32649), np.array([37_500_000.0]), np.array([3e6]), path="x"
    )
    assert crs.to_epsg() == 32649 and notes == []


def test_prefix_free_eastings_in_a_prefixed_crs_switch_back():
    crs, notes = resolve_gk_prefix(
        CRS.from_epsg(4525), np.array([519_600.0]), np.array([3_143_000.0]), path="x"
    )
    assert crs.to_epsg() == 4546 and notes[0].key == "import_note_zone_no_prefix"


def test_mixed_prefixes_are_refused():
    with pytest.raises(ZonePrefixMismatch):
        resolve_gk_prefix(
            CRS.from_epsg(4546),
            np.array([519_600.0, 37_519_600.0]),
            np.array([3_143_000.0, 3_143_000.0]),
            path="x",
        )


def test_northing_first_in_gk_is_refused():
    with pytest.raises(AxesSwapped):
        resolve_gk_prefix(
            CRS.from_epsg(4546), np.array([3_143_000.0]), np.array([519_600.0]), path="x"
        )


def test_crs_option_parsing():
    assert parse_crs("4546").to_epsg() == 4546
    assert parse_crs("EPSG:4525").to_epsg() == 4525
    with pytest.raises(InvalidCrs):
        parse_crs("EPSG:999999")


def test_encoding_detection_order():
    assert detect_encoding([b"DKBM", b"abc"]) == "ASCII"
    assert detect_encoding(["茶园".encode()]) == "UTF-8"
    assert detect_encoding(["茶园".encode("gbk"), "安化".encode("gbk")]) == "GB18030"
    assert detect_encoding([b"\xff\xfe\xff"]) is None


def test_dbf_header_gives_type_and_width():
    header = bytearray(32)
    header[8:10] = (32 + 32 + 1).to_bytes(2, "little")
    header[29] = 0x4D
    field = bytearray(32)
    field[:4] = b"DKBM"
    field[11] = ord("N")
    field[16] = 19
    data = bytes(header + field + b"\r")
    parsed = read_dbf_header(data)
    assert parsed.ldid == 0x4D
    assert [(f.name, f.type, f.width) for f in parsed.fields] == [(b"DKBM", "N", 19)]


def test_import_messages_have_both_languages_with_the_same_placeholders():
    keys = [k for k in catalogue() if k.startswith("import")]
    assert len(keys) > 40
    for key in keys:
        texts = catalogue()[key]
        assert set(texts) == {"zh-CN", "en"}, key
        assert placeholders(texts["zh-CN"]) == placeholders(texts["en"]), key


def test_every_message_key_used_by_the_import_code_exists():
    root = Path(ingest.__file__).parent
    sources = [*root.rglob("*.py"), *(Path(cli.__file__).parent / n for n in CLI_FILES)]
    prefixes = (
        "import_error",
        "import_problem",
        "import_note",
        "import_label",
        "import_summary_",
        "import_progress",
        "import_area",
        "import_dry",
    )
    used: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.startswith(prefixes) and node.value.replace("_", "").isalpha():
                    used.add(node.value)
    assert len(used) > 40
    missing = used - set(catalogue())
    assert not missing, missing
