"""Coverage-weighted per-plot statistics of index rasters, for all plots of a scene at once.

Definitions (quoted by the README). For a plot P and a raster grid G, the coverage fraction
c_i ∈ (0, 1] of pixel i is the fraction of the pixel's area inside P (exactextract's
definition, computed exactly from the polygon in the grid's CRS; pixels outside the grid do
not count). For an index array x (float32, NaN = invalid) and, optionally, a mask-reason
array r (integer; 0 = clear, k > 0 = reason code k, e.g. cloud or shadow):

- a pixel is *clear* when r_i = 0 (without reasons: when x_i is not NaN), and *valid* when it
  is clear and x_i is not NaN;
- total weight T = Σ c_i over all pixels of P on G, valid or not;
- valid weight W = Σ c_i over valid pixels; valid count = number of valid pixels (c_i > 0);
- clear fraction = W_clear / T with W_clear = Σ c_i over clear pixels (NaN when T = 0);
- masked share of reason k = Σ c_i [r_i = k] / T, so clear fraction + Σ_k share_k = 1;
- mean = Σ c_i x_i / W; std = sqrt(Σ c_i (x_i − mean)² / W) (population, weighted by c_i);
- min, max = smallest and largest x_i over valid pixels (coverage plays no part);
- median, p10, p90 = exactextract's weighted quantile: equal values are merged (weights
  summed), giving n distinct values v_1 < … < v_n with weights w_j, cumulative weight
  C_j = w_1 + … + w_j and S = C_n; each v_j sits at s_j = (j − 1) w_j + (n − 1) C_{j−1}
  (s_1 = 0, s_n = (n − 1) S), and quantile q is the linear interpolation of v at
  s = q (n − 1) S (v_1 when n = 1). This is not numpy's quantile: with equal weights it
  reduces to numpy's default (linear, type 7), otherwise it differs.

All statistics are computed over valid pixels only; a plot without valid pixels gets NaN
statistics and is flagged, never an error. Flags (one reason per plot, first that applies):
``outside_grid`` (T = 0: the plot does not touch the grid; store no observation),
``no_valid_pixels`` (W = 0), ``low_clear_fraction`` (clear fraction < minimum) and
``few_pixels`` (valid count < minimum). Flagged rows are kept for storage, never averaged in.
The ingest flags every observation of a scene ``implausible_radiometry`` when the scene's
clear vegetation contradicts its declared scale and offset (:meth:`StatsTable.flag_all`).

Relation to exactextract (tested against it): c_i, mean (``mean``), std (``stdev``), min,
max, median and quantiles (``quantile(q=…)``) are its definitions over the same pixels, and
its ``count`` is our valid weight W, not a pixel count. Its results are float32, ours
float64 (differences ≤ 1e-7). It has no notion of mask reasons: a masked pixel is to it
what a NaN is. Valid count, clear fraction, shares and flags are ours.

Coverage is computed once per plot set and grid (:func:`compute_coverage`) and reused for
every index and mask on that grid: :func:`plot_statistics` only reads the coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ingest.satellite._coverage import (
    CrsMismatch,
    GridMismatch,
    PlotCoverage,
    PlotsWithoutCrs,
    StatsError,
    UnsupportedGrid,
    compute_coverage,
    read_samples,
)
from models.errors import InvalidParameter

__all__ = [
    "FLAG_FEW_PIXELS",
    "FLAG_IMPLAUSIBLE_RADIOMETRY",
    "FLAG_LOW_CLEAR_FRACTION",
    "FLAG_NO_VALID_PIXELS",
    "FLAG_OUTSIDE_GRID",
    "QUANTILES",
    "CrsMismatch",
    "GridMismatch",
    "MaskSums",
    "PlotCoverage",
    "PlotsWithoutCrs",
    "StatsError",
    "StatsTable",
    "UnsupportedGrid",
    "compute_coverage",
    "mask_sums",
    "plot_statistics",
    "read_samples",
    "sample_statistics",
    "weighted_quantiles",
]

FLAG_OUTSIDE_GRID: Final = "outside_grid"
FLAG_NO_VALID_PIXELS: Final = "no_valid_pixels"
FLAG_LOW_CLEAR_FRACTION: Final = "low_clear_fraction"
FLAG_FEW_PIXELS: Final = "few_pixels"
#: Set by the ingest on every observation of a scene whose radiometry its pixels contradict.
FLAG_IMPLAUSIBLE_RADIOMETRY: Final = "implausible_radiometry"

#: Quantile fields and their levels (exactextract's weighted quantile definition).
QUANTILES: Final = {"p10": 0.1, "median": 0.5, "p90": 0.9}

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class StatsTable:
    """Per-plot statistics of one index on one grid, one entry per plot in coverage order.

    Index statistics are in the index's units (NaN where the plot has no valid pixel);
    weights are in pixels (sums of coverage fractions), fractions and shares in 0–1.

    Attributes:
        plot_id: plot ids, as in the coverage.
        mean: coverage-weighted mean.
        std: coverage-weighted population standard deviation.
        min: smallest valid value.
        max: largest valid value.
        median: weighted quantile 0.5.
        p10: weighted quantile 0.1.
        p90: weighted quantile 0.9.
        valid_weight: W, Σ c over valid pixels.
        valid_count: number of valid pixels touched (int64).
        total_weight: T, Σ c over all pixels on the grid.
        clear_fraction: W_clear / T (NaN when T = 0).
        masked_shares: reason code → Σ c [r = k] / T per plot.
        flagged: whether the observation is flagged.
        flag_reason: one of the ``FLAG_*`` values, or None.
    """

    plot_id: NDArray[Any]
    mean: F64
    std: F64
    min: F64
    max: F64
    median: F64
    p10: F64
    p90: F64
    valid_weight: F64
    valid_count: NDArray[np.int64]
    total_weight: F64
    clear_fraction: F64
    masked_shares: dict[int, F64]
    flagged: NDArray[np.bool_]
    flag_reason: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.plot_id)

    def flag_all(self, reason: str) -> StatsTable:
        """Every observation on the grid flagged with ``reason`` (``outside_grid`` ones kept)."""
        on_grid = self.flag_reason != FLAG_OUTSIDE_GRID
        flag_reason = self.flag_reason.copy()
        flag_reason[on_grid] = reason
        return replace(self, flagged=self.flagged | on_grid, flag_reason=flag_reason)

    def to_frame(self) -> pd.DataFrame:
        """One row per plot; masked shares as ``masked_share_<code>`` columns."""
        columns: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "plot_id mean std min max median p10 p90 valid_weight valid_count "
                "total_weight clear_fraction"
            ).split()
        }
        for code, share in sorted(self.masked_shares.items()):
            columns[f"masked_share_{code}"] = share
        columns["flagged"] = self.flagged
        columns["flag_reason"] = self.flag_reason
        return pd.DataFrame(columns)


def plot_statistics(
    coverage: PlotCoverage,
    values: NDArray[np.floating[Any]],
    reasons: NDArray[np.integer[Any]] | None = None,
    *,
    min_valid_pixels: int,
    min_clear_fraction: float,
    reason_codes: tuple[int, ...] = (),
) -> StatsTable:
    """Per-plot statistics of one index array on the coverage's grid.

    Args:
        coverage: plot coverage on the grid of ``values`` (computed once, reused).
        values: 2-D index array, shape ``coverage.grid.shape``, NaN where invalid.
        reasons: 2-D integer mask-reason array on the same grid (0 = clear), or None.
        min_valid_pixels: observations with fewer valid pixels are flagged ``few_pixels``.
        min_clear_fraction: observations less clear (0–1) are flagged ``low_clear_fraction``.
        reason_codes: codes whose share is always reported, even when absent.

    Returns:
        The statistics table, one entry per plot of ``coverage``.

    Raises:
        GridMismatch: an array's shape differs from the grid's.
        InvalidParameter: a threshold is out of range.
    """
    samples = coverage.sample(values)
    reason_samples = coverage.sample(reasons) if reasons is not None else None
    return sample_statistics(
        coverage,
        samples,
        reason_samples,
        min_valid_pixels=min_valid_pixels,
        min_clear_fraction=min_clear_fraction,
        reason_codes=reason_codes,
    )


def sample_statistics(
    coverage: PlotCoverage,
    samples: NDArray[np.floating[Any]],
    reason_samples: NDArray[np.integer[Any]] | None = None,
    *,
    min_valid_pixels: int,
    min_clear_fraction: float,
    reason_codes: tuple[int, ...] = (),
    masks: MaskSums | None = None,
) -> StatsTable:
    """Like :func:`plot_statistics`, from values already taken at every coverage entry.

    ``samples`` (and ``reason_samples``) hold one value per entry, in entry order, as
    returned by :meth:`PlotCoverage.sample` or :func:`read_samples`. ``masks``, from
    :func:`mask_sums` on the same ``reason_samples``, saves summing the mask again for
    every index of a scene.
    """
    if min_valid_pixels < 0:
        raise InvalidParameter(name="min_valid_pixels", reason=f"{min_valid_pixels} < 0")
    if not 0.0 <= min_clear_fraction <= 1.0:
        raise InvalidParameter(name="min_clear_fraction", reason=f"{min_clear_fraction} ∉ [0, 1]")
    for name, array in (("samples", samples), ("reason_samples", reason_samples)):
        if array is not None and array.shape != (coverage.n_cells,):
            raise GridMismatch(expected=f"{name} ({coverage.n_cells},)", got=str(array.shape))

    n = coverage.n_plots
    group = coverage.plot_index
    weight = coverage.weights
    x = samples.astype(np.float32, copy=False)
    finite = ~np.isnan(x)
    if reason_samples is not None:
        sums = masks if masks is not None else mask_sums(coverage, reason_samples, reason_codes)
    else:
        sums = _sums(coverage, finite, None, reason_codes)
    total, clear_fraction, shares = sums.total, sums.clear_fraction, sums.shares
    valid = sums.clear & finite

    # Valid entries sorted by (plot, value); everything below works on these only.
    vg = group[valid]
    order = _group_value_order(vg, x[valid])
    sg = vg[order]
    sx = x[valid][order].astype(np.float64)
    sw = weight[valid][order].astype(np.float64)
    del vg, order
    valid_weight = _group_sum(sg, sw, n)
    valid_count = np.bincount(sg, minlength=n).astype(np.int64)
    has = valid_count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _group_sum(sg, sw * sx, n) / valid_weight
        var = _group_sum(sg, sw * (sx - mean[sg]) ** 2, n) / valid_weight
    mean[~has] = np.nan
    std = np.sqrt(np.where(has, np.maximum(var, 0.0), np.nan))

    ends = np.cumsum(valid_count)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    lo[has] = sx[(ends - valid_count)[has]]
    hi[has] = sx[ends[has] - 1]
    quantiles = weighted_quantiles(sg, sx, sw, n, tuple(QUANTILES.values()))

    flagged, flag_reason = _flags(
        total, valid_count, clear_fraction, min_valid_pixels, min_clear_fraction
    )
    return StatsTable(
        plot_id=coverage.plot_ids,
        mean=mean,
        std=std,
        min=lo,
        max=hi,
        median=quantiles[QUANTILES["median"]],
        p10=quantiles[QUANTILES["p10"]],
        p90=quantiles[QUANTILES["p90"]],
        valid_weight=valid_weight,
        valid_count=valid_count,
        total_weight=total,
        clear_fraction=clear_fraction,
        masked_shares=shares,
        flagged=flagged,
        flag_reason=flag_reason,
    )


@dataclass(frozen=True)
class MaskSums:
    """What the mask alone gives per plot, the same for every index of a scene.

    Attributes:
        clear: per coverage entry, whether it is clear (reason 0).
        total: T, Σ c over all pixels on the grid.
        clear_fraction: W_clear / T (NaN when T = 0).
        shares: reason code → Σ c [r = k] / T.
    """

    clear: NDArray[np.bool_]
    total: F64
    clear_fraction: F64
    shares: dict[int, F64]


def mask_sums(
    coverage: PlotCoverage,
    reason_samples: NDArray[np.integer[Any]],
    reason_codes: tuple[int, ...] = (),
) -> MaskSums:
    """The per-plot sums of the mask reasons at every coverage entry (for ``masks=``)."""
    if reason_samples.shape != (coverage.n_cells,):
        expected = f"reason_samples ({coverage.n_cells},)"
        raise GridMismatch(expected=expected, got=str(reason_samples.shape))
    return _sums(coverage, reason_samples == 0, reason_samples, reason_codes)


def _sums(
    coverage: PlotCoverage,
    clear: NDArray[np.bool_],
    reason_samples: NDArray[np.integer[Any]] | None,
    reason_codes: tuple[int, ...],
) -> MaskSums:
    n, group, weight = coverage.n_plots, coverage.plot_index, coverage.weights
    total = _group_sum(group, weight, n)
    clear_weight = _group_sum(group[clear], weight[clear], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        clear_fraction = clear_weight / total
    shares = _masked_shares(group, weight, reason_samples, total, reason_codes)
    return MaskSums(clear, total, clear_fraction, shares)


def weighted_quantiles(
    group: NDArray[np.intp],
    x: F64,
    w: F64,
    n_groups: int,
    levels: tuple[float, ...],
) -> dict[float, F64]:
    """exactextract's weighted quantiles for many groups at once (see the module docstring).

    Args:
        group: group of each element, non-decreasing.
        x: values, non-decreasing within each group (sort with ``np.lexsort((x, group))``).
        w: positive weights.
        n_groups: number of groups; groups without elements get NaN.
        levels: quantile levels in [0, 1].

    Returns:
        Level → one quantile per group.
    """
    out = {q: np.full(n_groups, np.nan) for q in levels}
    if len(x) == 0:
        return out
    # Merge equal values of a group: exactextract keeps one weight per distinct value.
    first = np.ones(len(x), dtype=bool)
    np.not_equal(x[1:], x[:-1], out=first[1:])
    first[1:] |= group[1:] != group[:-1]
    heads = np.flatnonzero(first)
    v, g, wv = x[heads], group[heads], np.add.reduceat(w, heads)
    n_v = np.bincount(g, minlength=n_groups)  # distinct values per group
    start = np.cumsum(n_v) - n_v
    present = np.flatnonzero(n_v)
    start_p, n_p = start[present], n_v[present]
    # Weight before each value within its group: one cumsum that restarts at each group
    # (subtracting the previous group's total) keeps the sums at group scale, not global.
    restart = wv.copy()
    restart[start_p[1:]] -= np.add.reduceat(wv, start_p)[:-1]
    c_prev = np.cumsum(restart) - wv
    j = np.arange(len(v)) - np.repeat(start_p, n_p)  # 0-based rank within the group
    s = j * wv + np.repeat(n_p - 1, n_p) * c_prev
    total = c_prev[start_p + n_p - 1] + wv[start_p + n_p - 1]
    for q in levels:
        target = q * total * (n_p - 1)
        # exactextract interpolates towards the first value with s > target
        # (std::upper_bound); s rises within a group, so bisect all groups at once.
        lo, hi = start_p.copy(), start_p + n_p
        while (open_ := lo < hi).any():
            mid = (lo + hi) // 2
            above = s[np.where(open_, mid, 0)] > target
            hi = np.where(open_ & above, mid, hi)
            lo = np.where(open_ & ~above, mid + 1, lo)
        right = np.minimum(lo, start_p + n_p - 1)
        left = np.maximum(right - 1, start_p)
        span = s[right] - s[left]
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(span > 0, (target - s[left]) / span, 0.0)
        # lo == end: past the last value (q = 1); lo == start cannot happen (s_1 = 0).
        step = np.where(lo == start_p + n_p, 1.0, step)
        out[q][present] = v[left] + step * (v[right] - v[left])
    return out


def _group_value_order(group: NDArray[np.intp], x: NDArray[np.float32]) -> NDArray[np.intp]:
    """Permutation sorting by (group, x): one radix sort of a packed uint64 key.

    ``x`` must hold no NaN. Its float32 bits are mapped to order-preserving unsigned ints
    (negative values inverted, positive ones with the sign bit set) below the group in the
    high 32 bits; ``np.lexsort`` on the two keys is some 20 times slower at 10⁷ entries.
    """
    bits = x.view(np.uint32)
    ordered = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
    key = (group.astype(np.uint64) << np.uint64(32)) | ordered.astype(np.uint64)
    return np.argsort(key, kind="stable")


def _masked_shares(
    group: NDArray[np.intp],
    weight: NDArray[np.float32],
    reasons: NDArray[np.integer[Any]] | None,
    total: F64,
    codes: tuple[int, ...],
) -> dict[int, F64]:
    """Share of each plot's total weight masked for each reason code."""
    if reasons is None:
        return {code: np.zeros_like(total) for code in codes}
    present = np.unique(reasons[reasons != 0])
    shares: dict[int, F64] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for code in sorted({*codes, *(int(c) for c in present)}):
            hit = reasons == code
            shares[code] = _group_sum(group[hit], weight[hit], len(total)) / total
    return shares


def _flags(
    total: F64,
    valid_count: NDArray[np.int64],
    clear_fraction: F64,
    min_valid_pixels: int,
    min_clear_fraction: float,
) -> tuple[NDArray[np.bool_], NDArray[np.object_]]:
    """Whether each plot is flagged, and why (the most severe reason; None when not)."""
    reason = np.full(len(total), None, dtype=object)
    checks = (
        (valid_count < min_valid_pixels, FLAG_FEW_PIXELS),
        (clear_fraction < min_clear_fraction, FLAG_LOW_CLEAR_FRACTION),
        (valid_count == 0, FLAG_NO_VALID_PIXELS),
        (total == 0, FLAG_OUTSIDE_GRID),
    )
    flagged = np.zeros(len(total), dtype=bool)
    for hit, name in checks:  # later checks are more severe and overwrite earlier ones
        reason[hit] = name
        flagged |= hit
    return flagged, reason


def _group_sum(group: NDArray[np.intp], values: NDArray[np.floating[Any]], n_groups: int) -> F64:
    """Sum of ``values`` per group (float64, zero for empty groups)."""
    return np.bincount(group, values, minlength=n_groups).astype(np.float64, copy=False)
