"""The BOA offset of a STAC item's pixels, decided per source and written as product metadata.

STAC items do not ship ``MTD_MSIL2A.xml`` beside their COGs, and what their pixels hold
depends on the catalogue:

* Planetary Computer serves the L2A DN as ESA wrote them: ``BOA_ADD_OFFSET`` −1000 from
  processing baseline 04.00, none before;
* Earth Search v1 may have *harmonised* the DN (offset already removed) and then says so with
  ``earthsearch:boa_offset_applied: true``; the flag has been seen wrong, so the ingest's
  plausibility check (:class:`ingest.satellite.radiometry.RadiometryCheck`) judges the pixels
  under the decision and flags an item whose flag contradicts them;
* Earth Search v0 serves ESA's DN (baseline read from the product id's ``N0xxx``).

:func:`decide_item_offset` applies one rule to every source: a source flag that the offset was
removed gives 0; otherwise the processing baseline decides (−1000 from 04.00, 0 before); with
neither the offset is left undecided (no metadata is written and the ingest assumes 0 and
checks). :func:`mtd_xml` records the decision as a trimmed ``MTD_MSIL2A.xml`` that
:func:`ingest.satellite.metadata.read_mtd` reads, with the reason in a comment and element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ingest.satellite.metadata import mtd_text

__all__ = ["OffsetDecision", "decide_item_offset", "item_baseline", "mtd_xml"]

_APPLIED_FLAG: Final = "earthsearch:boa_offset_applied"
_BASELINE_IN_NAME: Final = re.compile(r"_N(\d{2})(\d{2})_")
_NAME_KEYS: Final = ("s2:product_uri", "sentinel:product_id", "s2:product_id")
_OFFSET_DN: Final = -1000.0
_QUANTIFICATION: Final = 10000


@dataclass(frozen=True)
class OffsetDecision:
    """The offset of one item's pixels and why.

    Attributes:
        offset_dn: BOA_ADD_OFFSET in DN to apply (−1000 or 0), or None when undecided.
        baseline: processing baseline (``"04.00"``) if known.
        reason: why, in English (kept in the metadata file and the download manifest).
    """

    offset_dn: float | None
    baseline: str | None
    reason: str


def item_baseline(properties: Mapping[str, Any], item_id: str) -> str | None:
    """``s2:processing_baseline``, else the ``N0400`` of the product name, as ``"04.00"``."""
    value = properties.get("s2:processing_baseline") or properties.get(
        "sentinel:processing_baseline"
    )
    if value:
        return str(value)
    for text in [*(str(properties.get(k, "")) for k in _NAME_KEYS), item_id]:
        match = _BASELINE_IN_NAME.search(text)
        if match:
            return f"{match[1]}.{match[2]}"
    return None


def _baseline_tuple(text: str) -> tuple[int, int] | None:
    major, _, minor = text.strip().upper().removeprefix("N").partition(".")
    if not major.isdigit() or not (minor or "0").isdigit():
        return None
    return int(major), int(minor or "0")


def decide_item_offset(properties: Mapping[str, Any], item_id: str) -> OffsetDecision:
    """Decide the offset of an item's pixels (see the module docstring for the rule)."""
    baseline = item_baseline(properties, item_id)
    if properties.get(_APPLIED_FLAG) is True:
        return OffsetDecision(0.0, baseline, f"{_APPLIED_FLAG} is true: the source removed it")
    parsed = _baseline_tuple(baseline) if baseline else None
    if parsed is not None and parsed >= (4, 0):
        return OffsetDecision(
            _OFFSET_DN, baseline, f"raw L2A DN of processing baseline {baseline} (>= 04.00)"
        )
    if parsed is not None:
        return OffsetDecision(0.0, baseline, f"processing baseline {baseline} (< 04.00)")
    return OffsetDecision(None, None, "no processing baseline and no offset flag")


def mtd_xml(decision: OffsetDecision, *, item_id: str, start_time: str) -> str:
    """A trimmed ``MTD_MSIL2A.xml`` stating the decided offset for every band.

    Args:
        decision: a decided offset (``offset_dn`` not None).
        item_id: the STAC item (named in the comment).
        start_time: the item's ``datetime`` (ISO 8601, UTC).
    """
    if decision.offset_dn is None:
        raise ValueError("an undecided offset is not written as metadata")
    return mtd_text(
        product=item_id,
        start_time=start_time,
        baseline=decision.baseline or "",
        offset_dn=decision.offset_dn,
        comment=f"SkyGround: offset of STAC item {item_id} - {decision.reason}",
        reason=decision.reason,
    )
