"""Our weighted quantiles are exactextract's, which are not numpy's."""

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

from ingest.satellite import Grid
from ingest.satellite.stats import compute_coverage, plot_statistics, weighted_quantiles

UTM = CRS.from_epsg(32649)
LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def grid_of(shape: tuple[int, int]) -> Grid:
    return Grid(UTM, Affine(10, 0, 520_000.0, 0, -10, 3_140_000.0), shape)


def ours(values: np.ndarray, plots: gpd.GeoDataFrame, levels=LEVELS) -> dict[float, np.ndarray]:
    """Quantiles at ``levels`` through the coverage, as the statistics compute them."""
    coverage = compute_coverage(plots, grid_of(values.shape))
    x = coverage.sample(values).astype(np.float64)
    keep = ~np.isnan(x)
    group, x, w = coverage.plot_index[keep], x[keep], coverage.weights[keep].astype(np.float64)
    order = np.lexsort((x, group))
    return weighted_quantiles(group[order], x[order], w[order], coverage.n_plots, levels)


def theirs(values: np.ndarray, plots: gpd.GeoDataFrame, levels=LEVELS) -> dict[float, np.ndarray]:
    grid = grid_of(values.shape)
    raster = NumPyRasterSource(values, *grid.bounds, srs_wkt=UTM.to_wkt())
    ops = [f"quantile(q={q})" for q in levels]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        frame = exact_extract(raster, plots, ops, output="pandas")
    return {q: frame.iloc[:, i].to_numpy() for i, q in enumerate(levels)}


def test_quantiles_equal_exactextract_with_many_tied_values():
    rng = np.random.default_rng(11)
    values = rng.choice(np.float32([0.1, 0.2, 0.35, 0.5, 0.8]), (32, 32))
    values[rng.random((32, 32)) < 0.1] = np.nan
    centres = rng.uniform(520_040, 520_280, (40, 2)) * [1, 0] + [0, 3_139_840]
    centres[:, 1] += rng.uniform(-120, 120, 40)
    sides = rng.uniform(8, 90, (40, 2))
    geoms = shapely.box(*(centres - sides / 2).T, *(centres + sides / 2).T)
    plots = gpd.GeoDataFrame(geometry=geoms, crs=UTM).to_crs("EPSG:4326")
    projected = plots.to_crs(UTM)
    ours_q, theirs_q = ours(values, plots), theirs(values, projected)
    for q in LEVELS:
        np.testing.assert_allclose(ours_q[q], theirs_q[q], atol=1e-6, err_msg=f"q={q}")


def test_median_weights_distinct_values_not_pixels():
    # Three pixels valued 0, 1, 2 covered 1/4, 1/4 and fully: weights 1:1:4. exactextract puts
    # v_j at s_j = (j-1) w_j + (n-1) C_{j-1}: s = 0, 0.75, 3 of (n-1) S = 3, so the median
    # (s = 1.5) is 1 + (1.5 - 0.75) / (3 - 0.75) = 4/3. numpy's unweighted median is 1 and
    # the median of pixels repeated by weight is 2.
    values = np.float32([[0, 1, 2]])
    x0, y0 = 520_000.0, 3_140_000.0
    parts = [shapely.box(x0 + a, y0 - 10, x0 + b, y0) for a, b in [(7.5, 10), (17.5, 30)]]
    plots = gpd.GeoDataFrame(geometry=[shapely.MultiPolygon(parts)], crs=UTM)
    assert ours(values, plots, (0.5,))[0.5][0] == pytest.approx(4 / 3)
    assert theirs(values, plots, (0.5,))[0.5][0] == pytest.approx(4 / 3)
    table = plot_statistics(
        compute_coverage(plots, grid_of(values.shape)),
        values,
        min_valid_pixels=1,
        min_clear_fraction=0,
    )
    assert table.median[0] == pytest.approx(4 / 3)


def test_equal_weights_give_numpys_linear_quantile():
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(0, 1, 23))
    result = weighted_quantiles(np.zeros(23, np.intp), x, np.full(23, 0.7), 1, LEVELS)
    for q in LEVELS:
        assert result[q][0] == pytest.approx(np.quantile(x, q))


def test_one_value_is_every_quantile_and_empty_groups_are_nan():
    group = np.array([1], np.intp)
    result = weighted_quantiles(group, np.array([0.42]), np.array([0.3]), 3, (0.1, 0.9))
    assert result[0.1][1] == result[0.9][1] == 0.42
    assert np.isnan(result[0.1][[0, 2]]).all()
