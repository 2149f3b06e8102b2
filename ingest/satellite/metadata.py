"""What a Sentinel-2 L2A product says about its pixel values: baseline, quantification, offset.

Two ways in: :func:`read_mtd` parses the product's ``MTD_MSIL2A.xml`` (safely: no DTD, no
entities, no external references), and :func:`metadata_from_properties` takes a flat mapping
such as STAC item properties or a Sentinel Hub request. Both give a :class:`ProductMetadata`,
which :func:`ingest.satellite.radiometry.decide_radiometry` turns into scale and offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree as SafeET

from ingest.errors import MetadataUnreadable
from models.indices import band

__all__ = [
    "MTD_BAND_IDS",
    "ProductMetadata",
    "metadata_from_properties",
    "mtd_text",
    "read_mtd",
]

#: Sentinel-2 band of each ``band_id`` in L2A metadata (Spectral_Information order).
MTD_BAND_IDS = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip


@dataclass(frozen=True)
class ProductMetadata:
    """Radiometric facts of one product, each None (or empty) when the source does not say.

    Attributes:
        source: where the facts come from (a file path, ``properties``).
        processing_baseline: e.g. ``"04.00"``.
        quantification: BOA_QUANTIFICATION_VALUE, DN per reflectance unit (10000).
        boa_offsets: BOA_ADD_OFFSET per Sentinel-2 band id, in DN (``{"B04": -1000.0}``).
        offset_applied: True when the pixels we read already had the offset removed by the
            source (Sentinel Hub ``harmonizeValues``, Earth Search ``boa_offset_applied``).
        acquired: sensing start time (UTC).
        nodata_dn: DN the product declares special (NODATA 0, SATURATED 65535).
    """

    source: str
    processing_baseline: str | None = None
    quantification: float | None = None
    boa_offsets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    offset_applied: bool | None = None
    acquired: datetime | None = None
    nodata_dn: tuple[int, ...] = ()

    @property
    def baseline(self) -> tuple[int, int] | None:
        """The processing baseline as (major, minor), e.g. (4, 0); None when unknown."""
        if self.processing_baseline is None:
            return None
        return _baseline_tuple(self.processing_baseline, self.source)


def _baseline_tuple(text: str, source: str) -> tuple[int, int]:
    clean = text.strip().upper().removeprefix("N")
    major, _, minor = clean.replace("_", ".").partition(".")
    if not major.isdigit() or not (minor or "0").isdigit():
        raise MetadataUnreadable(path=source, reason=f"processing baseline {text!r}")
    if "." not in clean and len(clean) == 4:  # "0400" as in product names (N0400)
        return int(clean[:2]), int(clean[2:])
    return int(major), int(minor or "0")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _number(text: str | None, what: str, source: str) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        raise MetadataUnreadable(path=source, reason=f"{what} {text!r} is not a number") from None


def read_mtd(xml: str | bytes | Path) -> ProductMetadata:
    """Parse the radiometric fields of an L2A ``MTD_MSIL2A.xml``.

    Reads ``General_Info/Product_Info`` (PROCESSING_BASELINE, PRODUCT_START_TIME) and
    ``General_Info/Product_Image_Characteristics`` (Special_Values,
    QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE, BOA_ADD_OFFSET_VALUES_LIST,
    Spectral_Information_List). Namespaces are ignored, so every PSD version reads alike.

    Args:
        xml: path of the file (a :class:`~pathlib.Path`, or a string not starting with
            ``<``), or its content.

    Raises:
        MetadataUnreadable: not well-formed, holds a DTD or entities, is not L2A metadata, or
            a field is not a number.
    """
    if isinstance(xml, str) and not xml.lstrip().startswith("<"):
        xml = Path(xml)
    if isinstance(xml, Path):
        source = str(xml)
        try:
            content: str | bytes = xml.read_bytes()
        except OSError as exc:
            raise MetadataUnreadable(path=source, reason=exc.strerror or str(exc)) from exc
    else:
        source, content = "MTD_MSIL2A.xml", xml
    try:
        root = SafeET.fromstring(content, forbid_dtd=True)
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise MetadataUnreadable(path=source, reason=f"{type(exc).__name__}: {exc}") from exc
    if _local(root.tag) != "Level-2A_User_Product":
        raise MetadataUnreadable(path=source, reason=f"root <{_local(root.tag)}> is not L2A")
    return _from_tree(root, source)


def _from_tree(root: Element, source: str) -> ProductMetadata:
    first: dict[str, str] = {}
    raw_offsets: dict[str, str | None] = {}
    physical: dict[str, str] = {}
    special: list[int] = []
    for el in root.iter():
        name = _local(el.tag)
        if name == "BOA_ADD_OFFSET":
            raw_offsets[el.get("band_id", "")] = el.text
        elif name == "Spectral_Information" and el.get("bandId") is not None:
            physical[el.get("bandId", "")] = el.get("physicalBand", "")
        elif name == "SPECIAL_VALUE_INDEX":
            special.append(int(_number(el.text, name, source)))
        elif name not in first and el.text is not None:
            first[name] = el.text.strip()
    offsets = {}
    for band_id, text in raw_offsets.items():
        offsets[_mtd_band(band_id, physical, source)] = _number(text, "BOA_ADD_OFFSET", source)
    quantification = None
    if "BOA_QUANTIFICATION_VALUE" in first:
        quantification = _positive(first["BOA_QUANTIFICATION_VALUE"], source)
    baseline = first.get("PROCESSING_BASELINE")
    if baseline is not None:
        _baseline_tuple(baseline, source)
    return ProductMetadata(
        source=source,
        processing_baseline=baseline,
        quantification=quantification,
        boa_offsets=MappingProxyType(offsets),
        acquired=_time(first.get("PRODUCT_START_TIME"), source),
        nodata_dn=tuple(sorted(set(special))),
    )


def _mtd_band(band_id: str, physical: Mapping[str, str], source: str) -> str:
    # Spectral_Information spells single-digit bands "B1"; the band files use "B01".
    name = physical.get(band_id, "").upper()
    if len(name) == 2:
        name = f"B0{name[1]}"
    if name in MTD_BAND_IDS:
        return name
    if band_id.isdigit() and int(band_id) < len(MTD_BAND_IDS):
        return MTD_BAND_IDS[int(band_id)]
    raise MetadataUnreadable(path=source, reason=f"BOA_ADD_OFFSET band_id {band_id!r}")


def _positive(text: object, source: str) -> float:
    value = _number(str(text), "BOA_QUANTIFICATION_VALUE", source)
    if not value > 0:
        raise MetadataUnreadable(path=source, reason=f"BOA_QUANTIFICATION_VALUE {text!r} <= 0")
    return value


def _time(text: object, source: str) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise MetadataUnreadable(path=source, reason=f"time {text!r}") from None


_BASELINE_KEYS = ("PROCESSING_BASELINE", "s2:processing_baseline")
_APPLIED_KEYS = ("earthsearch:boa_offset_applied", "harmonizeValues", "offset_applied")


def metadata_from_properties(
    properties: Mapping[str, Any], *, source: str = "properties"
) -> ProductMetadata:
    """Radiometric facts from a flat mapping (STAC item properties, a request's options).

    Keys read: ``PROCESSING_BASELINE`` or ``s2:processing_baseline``;
    ``BOA_QUANTIFICATION_VALUE``; ``BOA_ADD_OFFSET`` as one number for every band or a mapping
    of band (``B04``, ``red`` or metadata ``band_id`` 0–12) to number;
    ``earthsearch:boa_offset_applied``, ``harmonizeValues`` or ``offset_applied`` (the source
    already removed the offset); ``PRODUCT_START_TIME`` or ``datetime``. Other keys are ignored.

    Raises:
        MetadataUnreadable: a value of a key above is malformed.
    """
    baseline = next((str(properties[k]) for k in _BASELINE_KEYS if k in properties), None)
    if baseline is not None:
        _baseline_tuple(baseline, source)
    quantification = None
    if properties.get("BOA_QUANTIFICATION_VALUE") is not None:
        quantification = _positive(properties["BOA_QUANTIFICATION_VALUE"], source)
    offsets: dict[str, float] = {}
    raw = properties.get("BOA_ADD_OFFSET")
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            ident = str(key)
            s2_id = _mtd_band(ident, {}, source) if ident.isdigit() else _s2_id(ident, source)
            offsets[s2_id] = _number(str(value), "BOA_ADD_OFFSET", source)
    elif raw is not None:
        value = _number(str(raw), "BOA_ADD_OFFSET", source)
        offsets = dict.fromkeys(MTD_BAND_IDS, value)
    applied = next((properties[k] for k in _APPLIED_KEYS if k in properties), None)
    if applied is not None and not isinstance(applied, bool):
        raise MetadataUnreadable(path=source, reason=f"offset applied flag {applied!r}")
    return ProductMetadata(
        source=source,
        processing_baseline=baseline,
        quantification=quantification,
        boa_offsets=MappingProxyType(offsets),
        offset_applied=applied,
        acquired=_time(properties.get("PRODUCT_START_TIME", properties.get("datetime")), source),
    )


def _s2_id(ident: str, source: str) -> str:
    try:
        return band(ident).s2_id
    except KeyError:
        raise MetadataUnreadable(path=source, reason=f"BOA_ADD_OFFSET band {ident!r}") from None


def mtd_text(
    *,
    product: str,
    start_time: str,
    baseline: str,
    offset_dn: float,
    comment: str,
    reason: str | None = None,
    quantification: int = 10000,
) -> str:
    """A trimmed ``MTD_MSIL2A.xml`` that :func:`read_mtd` reads: one offset for every band.

    Written beside band files that come without ESA's metadata (generated scenes, STAC and
    Sentinel Hub downloads) so the ingest decides their radiometry the one way it knows.
    ``comment`` says who wrote it and why; ``reason`` is kept as ``SKYGROUND_OFFSET_REASON``.
    """
    offset = f"{offset_dn:g}"
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">{offset}</BOA_ADD_OFFSET>' for i in range(13))
    extra = (
        ""
        if reason is None
        else f"\n      <SKYGROUND_OFFSET_REASON>{escape(reason)}</SKYGROUND_OFFSET_REASON>"
    )
    safe_comment = escape(comment.replace("--", "-"))
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    specials = "".join(
        f"<Special_Values><SPECIAL_VALUE_TEXT>{name}</SPECIAL_VALUE_TEXT>"
        f"<SPECIAL_VALUE_INDEX>{value}</SPECIAL_VALUE_INDEX></Special_Values>"
        for name, value in (("NODATA", 0), ("SATURATED", 65535))
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {safe_comment} -->
<n1:Level-2A_User_Product xmlns:n1="{ns}">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{escape(start_time)}</PRODUCT_START_TIME>
      <PRODUCT_URI>{escape(product)}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{escape(baseline)}</PROCESSING_BASELINE>{extra}
    </Product_Info>
    <Product_Image_Characteristics>
      {specials}
      <QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">{quantification}\
</BOA_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>
      <BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-2A_User_Product>
"""
