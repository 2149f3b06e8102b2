"""Validity, clear fraction, masked-reason shares and flags of per-plot statistics.

Plots are squares drawn in pixel units on a 16×16 grid at 10 m in EPSG:32650 and handed
over in EPSG:4326, as stored; arrays are built in memory.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from ingest._cells import CRS_WARNING as _CRS_WARNING
from ingest.satellite import Grid
from ingest.satellite.stats import (
    FLAG_FEW_PIXELS,
    FLAG_LOW_CLEAR_FRACTION,
    FLAG_NO_VALID_PIXELS,
    FLAG_OUTSIDE_GRID,
    CrsMismatch,
    GridMismatch,
    PlotsWithoutCrs,
    UnsupportedGrid,
    compute_coverage,
    plot_statistics,
)
from models.errors import InvalidParameter

UTM = CRS.from_epsg(32650)
GRID = Grid(UTM, Affine(10, 0, 200_000.0, 0, -10, 3_150_000.0), (16, 16))
# Reason codes as in ingest.satellite.masks.MaskReason: 3 dark/terrain shadow, 5 cloud, 6 cirrus.
CLOUD, SHADOW, CIRRUS = 5, 3, 6


def square(col: float, row: float, side: float) -> shapely.Polygon:
    """A square ``side`` pixels wide whose top-left corner is at pixel (col, row)."""
    x0, y0 = GRID.transform @ (col, row)
    return shapely.box(x0, y0 - side * 10, x0 + side * 10, y0)


def plots_4326(*geoms: shapely.Geometry | None) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"code": [f"p{i}" for i in range(len(geoms))]}, geometry=list(geoms))
    return frame.set_crs(UTM).to_crs("EPSG:4326")


def stats(coverage, values, reasons=None, **kwargs):
    thresholds = {"min_valid_pixels": 3, "min_clear_fraction": 0.5} | kwargs
    return plot_statistics(coverage, values, reasons, **thresholds)


@pytest.fixture()
def values() -> np.ndarray:
    return np.random.default_rng(3).uniform(0.2, 0.9, GRID.shape).astype(np.float32)


def test_a_fully_clouded_plot_is_flagged_with_nan_statistics(values):
    coverage = compute_coverage(plots_4326(square(2.3, 2.6, 4), square(9.5, 9.5, 3)), GRID)
    reasons = np.zeros(GRID.shape, np.uint8)
    reasons[:8, :8] = CLOUD
    values[:8, :8] = np.nan
    table = stats(coverage, values, reasons)
    assert table.flag_reason.tolist() == [FLAG_NO_VALID_PIXELS, None]
    assert table.flagged.tolist() == [True, False]
    for field in ("mean", "std", "min", "max", "median", "p10", "p90"):
        assert np.isnan(getattr(table, field)[0]) and not np.isnan(getattr(table, field)[1])
    assert table.valid_count[0] == 0 and table.valid_weight[0] == 0
    assert table.clear_fraction[0] == 0
    assert table.masked_shares[CLOUD][0] == pytest.approx(1)
    assert table.total_weight[0] == pytest.approx(16, rel=1e-5)


def test_an_all_nan_plot_without_reasons_is_flagged_not_an_error():
    coverage = compute_coverage(plots_4326(square(2.3, 2.6, 4)), GRID)
    table = stats(coverage, np.full(GRID.shape, np.nan, np.float32))
    assert table.flag_reason.tolist() == [FLAG_NO_VALID_PIXELS]
    assert table.clear_fraction[0] == 0 and np.isnan(table.mean[0])


def test_masked_shares_and_the_clear_fraction_add_up_to_one(values):
    geoms = [square(0.4, 0.7, 5.2), square(7.1, 2.2, 2.5), square(3.3, 9.9, 6.1)]
    coverage = compute_coverage(plots_4326(*geoms), GRID)
    reasons = np.random.default_rng(5).choice([0, 0, 0, SHADOW, CLOUD, CIRRUS], GRID.shape)
    table = stats(coverage, values, reasons)
    shares = sum(table.masked_shares.values())
    np.testing.assert_allclose(table.clear_fraction + shares, 1, atol=1e-12)
    assert sorted(table.masked_shares) == [SHADOW, CLOUD, CIRRUS]
    for k in range(coverage.n_plots):
        part = slice(coverage.offsets[k], coverage.offsets[k + 1])
        c = coverage.weights[part].astype(np.float64)
        r = reasons[coverage.rows[part], coverage.cols[part]]
        assert table.masked_shares[CLOUD][k] == pytest.approx(c[r == CLOUD].sum() / c.sum())


def test_masked_pixels_stay_out_of_the_statistics(values):
    coverage = compute_coverage(plots_4326(square(1.5, 1.5, 9)), GRID)
    reasons = np.zeros(GRID.shape, np.uint8)
    reasons[4:7, :] = SHADOW
    masked = stats(coverage, values, reasons)
    blanked = values.copy()
    blanked[4:7, :] = np.nan
    reference = stats(coverage, blanked)
    for field in ("mean", "std", "min", "max", "median", "p10", "p90", "valid_weight"):
        assert getattr(masked, field)[0] == getattr(reference, field)[0], field
    assert masked.clear_fraction[0] == pytest.approx(1 - 27 / 81)
    assert masked.masked_shares[SHADOW][0] == pytest.approx(27 / 81)


def test_reprojection_slivers_count_unless_a_minimum_fraction_drops_them(values):
    plots = plots_4326(square(2, 2, 4))  # edges on pixel edges, moved ~1e-9 m by 4326
    slivers = compute_coverage(plots, GRID)
    assert slivers.n_cells > 16 and slivers.weights.min() < 1e-6
    clean = compute_coverage(plots, GRID, min_fraction=1e-6)
    assert clean.n_cells == 16
    assert stats(clean, values).valid_weight[0] == pytest.approx(16, rel=1e-6)


def test_a_mostly_cloudy_plot_is_kept_but_flagged_low_clear_fraction(values):
    coverage = compute_coverage(plots_4326(square(2, 2, 4)), GRID, min_fraction=1e-6)
    reasons = np.zeros(GRID.shape, np.uint8)
    reasons[2:5, 2:6] = CLOUD  # 12 of 16 pixels
    table = stats(coverage, values, reasons, min_valid_pixels=4)
    assert table.flag_reason.tolist() == [FLAG_LOW_CLEAR_FRACTION]
    assert table.clear_fraction[0] == pytest.approx(0.25)
    assert table.valid_count[0] == 4 and not np.isnan(table.mean[0])


def test_a_plot_with_few_valid_pixels_is_flagged_few_pixels(values):
    coverage = compute_coverage(plots_4326(square(3.5, 3.5, 2)), GRID)  # touches 9 pixels
    table = stats(coverage, values, min_valid_pixels=10)
    assert table.valid_count[0] == 9
    assert table.valid_weight[0] == pytest.approx(4, rel=1e-5)
    assert table.flag_reason.tolist() == [FLAG_FEW_PIXELS]
    assert stats(coverage, values, min_valid_pixels=9).flag_reason.tolist() == [None]


def test_plots_off_the_grid_or_empty_are_flagged_outside_grid(values):
    geoms = [square(30, 30, 3), shapely.Polygon(), None, square(1, 1, 2)]
    coverage = compute_coverage(plots_4326(*geoms), GRID)
    table = stats(coverage, values)
    assert table.flag_reason.tolist() == [FLAG_OUTSIDE_GRID] * 3 + [None]
    assert table.total_weight.tolist()[:3] == [0, 0, 0]
    assert np.isnan(table.clear_fraction[0])


def test_requested_reason_codes_are_always_reported(values):
    coverage = compute_coverage(plots_4326(square(1, 1, 2)), GRID)
    table = stats(coverage, values, np.zeros(GRID.shape, np.uint8), reason_codes=(CLOUD, 8))
    assert table.masked_shares[CLOUD].tolist() == [0] and table.masked_shares[8].tolist() == [0]
    frame = table.to_frame()
    assert {"masked_share_5", "masked_share_8", "flag_reason"} <= set(frame.columns)
    assert frame["plot_id"].tolist() == [0]


def test_ids_come_from_the_id_column(values):
    coverage = compute_coverage(
        plots_4326(square(1, 1, 2), square(5, 5, 2)), GRID, id_column="code"
    )
    assert stats(coverage, values).plot_id.tolist() == ["p0", "p1"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_valid_pixels": -1}, "min_valid_pixels"),
        ({"min_clear_fraction": 1.5}, "min_clear_fraction"),
    ],
)
def test_thresholds_out_of_range_are_refused(values, kwargs, name):
    coverage = compute_coverage(plots_4326(square(1, 1, 2)), GRID)
    with pytest.raises(InvalidParameter, match=name):
        stats(coverage, values, **kwargs)


def test_a_reason_array_on_another_grid_is_refused(values):
    coverage = compute_coverage(plots_4326(square(1, 1, 2)), GRID)
    with pytest.raises(GridMismatch):
        stats(coverage, values, np.zeros((8, 8), np.uint8))


def test_plots_without_a_crs_are_refused():
    with pytest.raises(PlotsWithoutCrs, match="1 plots"):
        compute_coverage(gpd.GeoDataFrame(geometry=[square(1, 1, 2)]), GRID)


def test_rotated_grids_are_refused():
    rotated = Grid(UTM, Affine(10, 1, 0, 0, -10, 0), (4, 4))
    with pytest.raises(UnsupportedGrid):
        compute_coverage(plots_4326(square(1, 1, 2)), rotated)


def test_exactextract_still_warns_on_a_crs_mismatch_as_our_guard_expects():
    # The guard in compute_coverage turns this warning into CrsMismatch: keep the text in step
    # with the installed exactextract, which would otherwise silently find no pixels.
    raster = NumPyRasterSource(np.zeros(GRID.shape, np.float32), *GRID.bounds, srs_wkt=UTM.to_wkt())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plots = plots_4326(square(1, 1, 2))
    with pytest.warns(RuntimeWarning, match=_CRS_WARNING):
        result = exact_extract(raster, plots, ["count"], output="pandas")
    assert result["count"].tolist() == [0]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_failure_has_a_message_in_both_languages(lang):
    failures = [
        PlotsWithoutCrs(count=3),
        CrsMismatch(plots_crs="EPSG:4326", raster_crs="EPSG:32650"),
        UnsupportedGrid(transform=(10, 1, 0, 0, -10, 0)),
        GridMismatch(expected="(16, 16)", got="(8, 8)"),
    ]
    for failure in failures:
        assert failure.message(lang).strip()
