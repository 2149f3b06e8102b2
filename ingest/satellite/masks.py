"""Cloud, shadow and no-data masks from the Sen2Cor scene classification (SCL), with reasons.

SCL classes masked always: 0 no data, 1 saturated or defective, 2 dark area / topographic
shadow (on the north slopes of Anhua's hills class 2 is mostly terrain shadow, whose
reflectance is not comparable), 3 cloud shadow, 8 and 9 cloud (medium, high probability),
10 thin cirrus, 11 snow or ice. Class 7 (unclassified) is masked only when asked
(``SKYGROUND_INGEST_MASK_SCL_7``; default no: Sen2Cor puts many clear but mixed pixels of
small terraced plots there, and cloud edges are better caught by dilation). Classes 4
(vegetation), 5 (not vegetated) and 6 (water) stay clear. Values above 11 are treated as no data.

Each pixel keeps *why* it was masked as a small integer (:class:`MaskReason`, 0 = clear), so
statistics can say how much of a plot was cloud and how much terrain shadow. Optional
dilation grows clouds (8, 9), cirrus (10) and cloud shadow (3) by N pixels (a square
neighbourhood: N pixels in every direction, diagonals included); pixels masked only by the
dilation get the reason ``dilated``.

SCL comes at 20 m while the bands we use most are 10 m: :func:`align_scl` moves classes (or
reasons) onto a band's grid by nearest neighbour, which is exact 2 × 2 replication when the
grids nest. Mask after aligning, so dilation counts pixels of the band grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import xarray as xr

from ingest.errors import BandGridMismatch
from ingest.satellite._grid import Grid, to_dataarray, warp

__all__ = [
    "DILATED_SCL",
    "MASKED_SCL",
    "MaskReason",
    "SclClass",
    "SclMask",
    "align_scl",
    "dilate",
    "scl_mask",
]


class SclClass(IntEnum):
    """Sen2Cor scene classification values."""

    NO_DATA = 0
    SATURATED_OR_DEFECTIVE = 1
    DARK_AREA_OR_TOPOGRAPHIC_SHADOW = 2
    CLOUD_SHADOW = 3
    VEGETATION = 4
    NOT_VEGETATED = 5
    WATER = 6
    UNCLASSIFIED = 7
    CLOUD_MEDIUM_PROBABILITY = 8
    CLOUD_HIGH_PROBABILITY = 9
    THIN_CIRRUS = 10
    SNOW = 11


class MaskReason(IntEnum):
    """Why a pixel is masked; 0 is clear. Stored per pixel as uint8."""

    CLEAR = 0
    NODATA = 1
    DEFECTIVE = 2
    DARK_OR_TERRAIN_SHADOW = 3
    CLOUD_SHADOW = 4
    CLOUD = 5
    CIRRUS = 6
    SNOW = 7
    UNCLASSIFIED = 8
    DILATED = 9

    @property
    def key(self) -> str:
        """Catalogue key of the reason's label."""
        return f"mask_reason_{self.name.lower()}"


#: SCL classes masked always, with their reason.
MASKED_SCL: Final[Mapping[int, MaskReason]] = {
    SclClass.NO_DATA: MaskReason.NODATA,
    SclClass.SATURATED_OR_DEFECTIVE: MaskReason.DEFECTIVE,
    SclClass.DARK_AREA_OR_TOPOGRAPHIC_SHADOW: MaskReason.DARK_OR_TERRAIN_SHADOW,
    SclClass.CLOUD_SHADOW: MaskReason.CLOUD_SHADOW,
    SclClass.CLOUD_MEDIUM_PROBABILITY: MaskReason.CLOUD,
    SclClass.CLOUD_HIGH_PROBABILITY: MaskReason.CLOUD,
    SclClass.THIN_CIRRUS: MaskReason.CIRRUS,
    SclClass.SNOW: MaskReason.SNOW,
}
#: SCL classes that dilation grows.
DILATED_SCL: Final = frozenset(
    {
        SclClass.CLOUD_SHADOW,
        SclClass.CLOUD_MEDIUM_PROBABILITY,
        SclClass.CLOUD_HIGH_PROBABILITY,
        SclClass.THIN_CIRRUS,
    }
)


@dataclass(frozen=True)
class SclMask:
    """Per-pixel mask reasons on the grid of the SCL it came from.

    Attributes:
        reason: uint8 array of :class:`MaskReason` values, 0 where clear.
    """

    reason: npt.NDArray[np.uint8]

    @property
    def masked(self) -> npt.NDArray[np.bool_]:
        """True where the pixel is masked, for any reason."""
        masked: npt.NDArray[np.bool_] = self.reason != MaskReason.CLEAR
        return masked

    @property
    def clear_fraction(self) -> float:
        """Share of clear pixels (0–1; NaN for an empty array)."""
        size = self.reason.size
        return float(np.count_nonzero(self.reason == MaskReason.CLEAR) / size) if size else np.nan

    def counts(self) -> dict[MaskReason, int]:
        """How many pixels carry each reason (reasons with no pixel left out)."""
        values, counts = np.unique(self.reason, return_counts=True)
        return {MaskReason(int(v)): int(c) for v, c in zip(values, counts, strict=True)}

    def apply(self, values: xr.DataArray) -> xr.DataArray:
        """``values`` (float, same grid) with NaN where masked; coordinates and CRS kept.

        Raises:
            BandGridMismatch: ``values`` has another shape than the mask.
        """
        if values.shape != self.reason.shape:
            raise BandGridMismatch(what="mask", detail=f"{values.shape} != {self.reason.shape}")
        return values.copy(data=np.where(self.masked, np.nan, values.values))


def scl_mask(
    scl: npt.ArrayLike, *, mask_unclassified: bool = False, dilation_px: int = 0
) -> SclMask:
    """Mask reasons of an SCL array.

    Args:
        scl: Sen2Cor scene classes (integers 0–11; anything else counts as no data), on any
            grid; align it to the band grid first (:func:`align_scl`).
        mask_unclassified: mask class 7 too (reason ``unclassified``).
        dilation_px: grow classes 3, 8, 9 and 10 by this many pixels of ``scl``'s grid.
    """
    classes = np.asarray(scl)
    if classes.dtype.kind not in "ui":
        raise BandGridMismatch(what="SCL", detail=f"dtype {classes.dtype} is not integer")
    if dilation_px < 0:
        raise ValueError(f"dilation_px must be >= 0, got {dilation_px}")
    # A lookup table from class to reason; classes beyond 11 are no data.
    table = np.full(256, MaskReason.NODATA, dtype=np.uint8)
    table[: len(SclClass)] = MaskReason.CLEAR
    for cls, why in MASKED_SCL.items():
        table[cls] = why
    if mask_unclassified:
        table[SclClass.UNCLASSIFIED] = MaskReason.UNCLASSIFIED
    safe = np.where((classes >= 0) & (classes < 256), classes, 255).astype(np.intp)
    reason = table[safe]
    if dilation_px:
        grown = dilate(np.isin(classes, list(DILATED_SCL)), dilation_px)
        reason = np.where(grown & (reason == MaskReason.CLEAR), MaskReason.DILATED, reason)
    return SclMask(reason=reason.astype(np.uint8))


def dilate(mask: npt.ArrayLike, pixels: int) -> npt.NDArray[np.bool_]:
    """Grow a boolean mask by ``pixels`` in every direction (square, diagonals included).

    A pixel becomes True when a True pixel lies within ``pixels`` rows and ``pixels`` columns
    of it (Chebyshev distance). Separable: rows, then columns, so the cost is O(pixels).
    """
    out = np.asarray(mask, dtype=bool)
    if pixels <= 0 or out.size == 0:
        return out.copy()
    for axis in (0, 1):
        grown = out.copy()
        length = out.shape[axis]
        for step in range(1, min(pixels, length - 1) + 1):
            head = [slice(None)] * 2
            tail = [slice(None)] * 2
            head[axis], tail[axis] = slice(step, None), slice(None, -step)
            grown[tuple(head)] |= out[tuple(tail)]
            grown[tuple(tail)] |= out[tuple(head)]
        out = grown
    return out


def align_scl(scl: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """SCL classes (or mask reasons) moved onto the grid of ``like`` by nearest neighbour.

    Exact k × k replication when the grids nest (a 20 m SCL under 10 m bands); otherwise
    rasterio's nearest-neighbour reprojection, with pixels outside the SCL set to 0 (no data).

    Args:
        scl: integer classes with a CRS (rioxarray), e.g. from :func:`read_scl`.
        like: any array on the target grid, e.g. a 10 m band.
    """
    src, dst = Grid.of(scl), Grid.of(like)
    values = warp(np.asarray(scl.values), src, dst, nodata=0)
    return to_dataarray(values, dst, name=str(scl.name or "scl"), attrs=dict(scl.attrs))
