"""Digital numbers → reflectance: one function decides scale and offset per scene, and says why.

Sentinel-2 L2A stores reflectance as ``DN = reflectance × QUANTIFICATION − BOA_ADD_OFFSET``;
since processing baseline 04.00 (products from 2022-01-25) BOA_ADD_OFFSET is −1000, before it
there was none. So ``reflectance = (DN + offset) / quantification``, applied exactly once.

:func:`decide_radiometry` takes the product metadata (MTD_MSIL2A.xml or properties), the
user's ``--boa-offset`` and the acquisition time, and returns a :class:`Radiometry` recording
the scale, the offset and the reason (a catalogue key with its values). The offset is taken
from what the metadata or the user states, never from the date alone: with nothing to go on it
is 0 and marked ``needs_check``. :func:`plausibility` and :func:`check_radiometry` then look at
vegetated pixels (SCL 4), which must land at red 0.01–0.1 and NIR 0.2–0.6, and flag a
contradiction (an offset applied twice, or not at all) with an :class:`ImplausibleReflectance`
warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ingest.errors import (
    BandGridMismatch,
    ConflictingBoaOffset,
    DigitalNumbersExpected,
    ImplausibleReflectance,
)
from ingest.satellite.metadata import ProductMetadata
from models.i18n import t
from models.indices import band

__all__ = [
    "DEFAULT_QUANTIFICATION",
    "L2A_NODATA_DN",
    "NIR_RANGE",
    "RED_RANGE",
    "Plausibility",
    "Radiometry",
    "RadiometryCheck",
    "RadiometrySource",
    "Verdict",
    "check_radiometry",
    "check_with",
    "decide_radiometry",
    "judge_medians",
    "plausibility",
]

#: DN that are never reflectance in L2A: 0 is NO_DATA, 65535 SATURATED.
L2A_NODATA_DN: Final = (0, 65535)
#: BOA_QUANTIFICATION_VALUE of every L2A baseline so far; used when metadata does not say.
DEFAULT_QUANTIFICATION: Final = 10000.0
_OFFSET_BASELINE: Final = (4, 0)
# Only words the reason of an assumed offset; never chooses one.
_OFFSET_ERA_START: Final = date(2022, 1, 25)

#: Median reflectance of clear vegetated pixels (SCL 4) that we accept as plausible.
RED_RANGE: Final = (0.01, 0.1)
NIR_RANGE: Final = (0.2, 0.6)
#: Fewer vegetated pixels than this and the check says nothing.
MIN_VEGETATED_PIXELS: Final = 10
_VEGETATION_SCL: Final = 4


class RadiometrySource(StrEnum):
    """What the offset rests on."""

    METADATA = "metadata"
    USER = "user"
    SOURCE_APPLIED = "source_applied"
    ASSUMED = "assumed"


@dataclass(frozen=True)
class Radiometry:
    """Scale and offset of one scene and why they were chosen.

    Attributes:
        quantification: DN per reflectance unit (10000); ``scale`` is its inverse.
        offset: DN added before dividing (−1000 from baseline 04.00, else 0).
        source: what the offset rests on.
        reason: catalogue key explaining the choice; ``params`` fill it.
        params: values of the reason (offset, baseline, source file, acquisition date).
        band_offsets: per-band offsets (Sentinel-2 id → DN) where the metadata lists them.
        needs_check: the choice rests on an assumption or a flag that may be wrong, so the
            plausibility check matters.
    """

    quantification: float
    offset: float
    source: RadiometrySource
    reason: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    band_offsets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    needs_check: bool = False

    @property
    def scale(self) -> float:
        """Reflectance per DN (1/quantification)."""
        return 1.0 / self.quantification

    def offset_for(self, band_name: str) -> float:
        """Offset in DN for one band (our name or Sentinel-2 id)."""
        return self.band_offsets.get(band(band_name).s2_id, self.offset)

    def to_reflectance(
        self,
        dn: npt.NDArray[np.integer] | np.ma.MaskedArray[Any, Any],
        band_name: str,
        *,
        nodata_dn: tuple[int, ...] = L2A_NODATA_DN,
    ) -> npt.NDArray[np.float32]:
        """``(DN + offset) / quantification`` as float32 reflectance (unitless, 0–1).

        Args:
            dn: integer digital numbers of one band; a masked array's mask counts as nodata.
            band_name: our band name or Sentinel-2 id, selecting the band's offset.
            nodata_dn: DN that become NaN (L2A: 0 no data, 65535 saturated).

        Raises:
            DigitalNumbersExpected: ``dn`` holds floats, which may already be reflectance.
        """
        dtype = np.asarray(dn).dtype
        if dtype.kind not in "ui":
            raise DigitalNumbersExpected(band=band_name, dtype=str(dtype))
        raw = np.ma.getdata(dn)
        invalid = np.ma.getmaskarray(dn).copy()
        for value in nodata_dn:  # two values: comparisons beat np.isin's sort or table
            invalid |= raw == value
        offset, quantification = self.offset_for(band_name), self.quantification
        if _exact_in_float32(raw.dtype, offset, quantification):
            # Eight times faster than through float64, and the same numbers: the sum of two
            # 16-bit integers is exact in float32, and the one rounding of the division is
            # the one the float64 path ends with (a quotient of such integers never lies
            # close enough to a float32 rounding midpoint for the first rounding to matter).
            values = raw.astype(np.float32)
            values += np.float32(offset)
            values /= np.float32(quantification)
        else:
            values = ((raw.astype(np.float64) + offset) / quantification).astype(np.float32)
        values[invalid] = np.nan
        return values

    def describe(self, lang: str | None = None) -> str:
        """The reason in ``lang`` (default zh-CN)."""
        return t(self.reason, lang, **self.params)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record for the scene row and ``--json`` output."""
        return {
            "scale": self.scale,
            "offset": self.offset,
            "quantification": self.quantification,
            "band_offsets": dict(self.band_offsets),
            "source": str(self.source),
            "reason": self.reason,
            "params": {k: str(v) for k, v in self.params.items()},
            "needs_check": self.needs_check,
        }


def _exact_in_float32(dtype: np.dtype[Any], offset: float, quantification: float) -> bool:
    """Whether DN of ``dtype``, ``offset`` and ``quantification`` are small integers."""
    small = (float(offset), float(quantification))
    return dtype.itemsize <= 2 and all(v.is_integer() and abs(v) < 2**16 for v in small)


def decide_radiometry(
    metadata: ProductMetadata | None = None,
    *,
    user_offset: float | None = None,
    acquired: date | datetime | None = None,
) -> Radiometry:
    """Decide scale and offset of one scene from what is known about it.

    Rules, in order: a source that says it already removed the offset gives 0 (its flag
    describes the pixels we read, even when the original product lists offsets); an offset
    the metadata lists is used; a baseline before 04.00 gives 0; a ``user_offset`` is used;
    otherwise 0 is assumed. A ``user_offset`` that contradicts the first three is refused.
    Choices resting on a flag, the user or an assumption are marked ``needs_check``. The
    date only words the reason: it never picks an offset.

    Args:
        metadata: what the product says, or None for a bare file.
        user_offset: the ``--boa-offset`` option in DN (e.g. −1000), or None.
        acquired: acquisition date or time, when the metadata does not carry it.

    Raises:
        ConflictingBoaOffset: ``user_offset`` contradicts the metadata.
    """
    meta = metadata or ProductMetadata(source="—")
    quantification = meta.quantification or DEFAULT_QUANTIFICATION
    when = acquired or meta.acquired
    params: dict[str, Any] = {
        "source": meta.source,
        "quantification": f"{quantification:g}",
        "baseline": meta.processing_baseline or "—",
    }
    decide = _Decision(quantification, params, user_offset)
    if meta.offset_applied:
        decide.agree(0.0, "@radiometry_already_removed")
        return decide.make(0.0, RadiometrySource.SOURCE_APPLIED, "radiometry_offset_applied")
    if meta.boa_offsets:
        counts: dict[float, int] = {}
        for value in meta.boa_offsets.values():
            counts[value] = counts.get(value, 0) + 1
        common = max(counts, key=lambda v: counts[v])
        decide.agree(common, f"{common:g}")
        others = {b: v for b, v in meta.boa_offsets.items() if v != common}
        return decide.make(
            common, RadiometrySource.METADATA, "radiometry_metadata_offset", others, check=False
        )
    baseline = meta.baseline
    if baseline is not None and baseline < _OFFSET_BASELINE:
        decide.agree(0.0, f"0 (baseline {meta.processing_baseline})")
        return decide.make(
            0.0, RadiometrySource.METADATA, "radiometry_baseline_before_offset", check=False
        )
    if user_offset is not None:
        return decide.make(user_offset, RadiometrySource.USER, "radiometry_user_offset")
    if baseline is not None:
        return decide.make(0.0, RadiometrySource.ASSUMED, "radiometry_baseline_without_offsets")
    day = when.date() if isinstance(when, datetime) else when
    if day is not None and day >= _OFFSET_ERA_START:
        params["acquired"] = day.isoformat()
        return decide.make(0.0, RadiometrySource.ASSUMED, "radiometry_no_offset_metadata_recent")
    return decide.make(0.0, RadiometrySource.ASSUMED, "radiometry_no_offset_metadata")


@dataclass
class _Decision:
    quantification: float
    params: dict[str, Any]
    user_offset: float | None

    def agree(self, stated: float, stated_text: str) -> None:
        if self.user_offset is not None and self.user_offset != stated:
            raise ConflictingBoaOffset(user=f"{self.user_offset:g}", metadata=stated_text)

    def make(
        self,
        offset: float,
        source: RadiometrySource,
        reason: str,
        band_offsets: Mapping[str, float] | None = None,
        *,
        check: bool = True,
    ) -> Radiometry:
        return Radiometry(
            quantification=self.quantification,
            offset=offset,
            source=source,
            reason=reason,
            params=MappingProxyType({**self.params, "offset": f"{offset:g}"}),
            band_offsets=MappingProxyType(dict(band_offsets or {})),
            needs_check=check,
        )


class Verdict(StrEnum):
    """Outcome of the plausibility check."""

    PLAUSIBLE = "plausible"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Plausibility:
    """Medians of clear vegetated pixels and what they say about scale and offset.

    Attributes:
        verdict: plausible, too dark (e.g. offset applied twice), too bright (offset missing)
            or undecided (too few vegetated pixels).
        red_median: median red reflectance of the vegetated pixels, or None.
        nir_median: median NIR reflectance of the vegetated pixels, or None.
        vegetated_pixels: how many pixels were SCL 4 with finite red and NIR.
    """

    verdict: Verdict
    red_median: float | None
    nir_median: float | None
    vegetated_pixels: int

    @property
    def contradiction(self) -> bool:
        """Whether the pixels contradict the scale and offset that produced them."""
        return self.verdict in (Verdict.TOO_DARK, Verdict.TOO_BRIGHT)

    @property
    def key(self) -> str:
        """Catalogue key of the verdict."""
        return f"plausibility_{self.verdict}"


def plausibility(
    red: npt.ArrayLike,
    nir: npt.ArrayLike,
    scl: npt.ArrayLike,
    *,
    red_range: tuple[float, float] = RED_RANGE,
    nir_range: tuple[float, float] = NIR_RANGE,
    min_pixels: int = MIN_VEGETATED_PIXELS,
) -> Plausibility:
    """Judge reflectance by its vegetated pixels (SCL class 4).

    Args:
        red: red reflectance (float, 0–1, NaN for nodata), on the grid of ``scl``.
        nir: NIR reflectance, same grid.
        scl: Sen2Cor scene classes aligned to that grid.
        red_range: accepted range of the red median.
        nir_range: accepted range of the NIR median.
        min_pixels: fewest vegetated pixels that allow a verdict.

    Raises:
        BandGridMismatch: the three arrays differ in shape.
    """
    r, n, s = np.asarray(red, dtype=np.float64), np.asarray(nir, dtype=np.float64), np.asarray(scl)
    if not r.shape == n.shape == s.shape:
        raise BandGridMismatch(what="red/nir/SCL", detail=f"{r.shape} {n.shape} {s.shape}")
    veg = (s == _VEGETATION_SCL) & np.isfinite(r) & np.isfinite(n)
    count = int(veg.sum())
    if count < min_pixels:
        return Plausibility(Verdict.UNDECIDED, None, None, count)
    red_median, nir_median = float(np.median(r[veg])), float(np.median(n[veg]))
    return judge_medians(red_median, nir_median, count, red_range=red_range, nir_range=nir_range)


def judge_medians(
    red_median: float,
    nir_median: float,
    count: int,
    *,
    red_range: tuple[float, float] = RED_RANGE,
    nir_range: tuple[float, float] = NIR_RANGE,
) -> Plausibility:
    """The verdict on the medians of ``count`` (enough) clear vegetated pixels."""
    if red_median < red_range[0] or nir_median < nir_range[0]:
        verdict = Verdict.TOO_DARK
    elif red_median > red_range[1] or nir_median > nir_range[1]:
        verdict = Verdict.TOO_BRIGHT
    else:
        verdict = Verdict.PLAUSIBLE
    return Plausibility(verdict, red_median, nir_median, count)


@dataclass(frozen=True)
class RadiometryCheck:
    """A scene's radiometry with the verdict of its vegetated pixels.

    Attributes:
        radiometry: the decision checked.
        plausibility: what the vegetated pixels say under it.
        suggested_offset: an offset (0 or −1000 DN) under which they would be plausible,
            as a hint for the operator; never applied by itself. None when none is, or when
            there is no contradiction.
    """

    radiometry: Radiometry
    plausibility: Plausibility
    suggested_offset: float | None = None

    @property
    def contradiction(self) -> bool:
        """Whether the pixels contradict the decision."""
        return self.plausibility.contradiction

    def warning(self) -> ImplausibleReflectance:
        """The warning that tells an operator about the contradiction."""
        verdict, radiometry, suggested = self.plausibility, self.radiometry, self.suggested_offset
        return ImplausibleReflectance(
            verdict=f"@{verdict.key}",
            pixels=verdict.vegetated_pixels,
            red=f"{verdict.red_median:.4f}",
            nir=f"{verdict.nir_median:.4f}",
            offset=f"{radiometry.offset:g}",
            source=str(radiometry.source),
            suggested="—" if suggested is None else f"{suggested:g}",
        )


_CANDIDATE_OFFSETS: Final = (0.0, -1000.0)


def check_radiometry(
    radiometry: Radiometry,
    *,
    red_dn: npt.NDArray[np.integer] | np.ma.MaskedArray[Any, Any],
    nir_dn: npt.NDArray[np.integer] | np.ma.MaskedArray[Any, Any],
    scl: npt.ArrayLike,
    warn: bool = True,
) -> RadiometryCheck:
    """Convert a scene's red and NIR DN with ``radiometry`` and judge the result.

    Args:
        radiometry: the decision of :func:`decide_radiometry`.
        red_dn: red (B04) digital numbers.
        nir_dn: NIR (B08) digital numbers, same grid.
        scl: scene classes aligned to that grid.
        warn: emit :class:`ImplausibleReflectance` on a contradiction.
    """
    check = check_with(radiometry, lambda r: _judge(r, red_dn, nir_dn, scl))
    if warn and check.contradiction:
        warnings.warn(check.warning(), stacklevel=2)
    return check


def check_with(
    radiometry: Radiometry, judge: Callable[[Radiometry], Plausibility]
) -> RadiometryCheck:
    """The verdict of ``judge`` under ``radiometry``; on a contradiction, the first candidate
    offset (0, then −1000 DN) under which it is plausible, as a hint. Warns of nothing."""
    verdict = judge(radiometry)
    if not verdict.contradiction:
        return RadiometryCheck(radiometry, verdict)
    for candidate in _CANDIDATE_OFFSETS:
        if candidate == radiometry.offset and not radiometry.band_offsets:
            continue
        alternative = replace(radiometry, offset=candidate, band_offsets=MappingProxyType({}))
        if judge(alternative).verdict is Verdict.PLAUSIBLE:
            return RadiometryCheck(radiometry, verdict, candidate)
    return RadiometryCheck(radiometry, verdict, None)


def _judge(
    radiometry: Radiometry,
    red_dn: npt.NDArray[np.integer] | np.ma.MaskedArray[Any, Any],
    nir_dn: npt.NDArray[np.integer] | np.ma.MaskedArray[Any, Any],
    scl: npt.ArrayLike,
) -> Plausibility:
    red = radiometry.to_reflectance(red_dn, "red")
    nir = radiometry.to_reflectance(nir_dn, "nir")
    return plausibility(red, nir, scl)
