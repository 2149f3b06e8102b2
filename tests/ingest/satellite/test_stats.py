"""Per-plot statistics equal exactextract's on the same COG and a supersampled reference.

Fixture: a 64×64 float32 COG at 10 m in EPSG:32649 (UTM 49N) near Anhua, built in
``tmp_path``; three plots: (a) a rotated 1-亩 quadrilateral given in the raster's CRS, so
every pixel it touches is partial; (b) a plot with a hole given in EPSG:4326; (c) a plot
in EPSG:4326 hanging over the raster's western edge. Some pixels inside the plots are NaN.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from exactextract import exact_extract
from pyproj import Transformer

from ingest.satellite.stats import (
    GridMismatch,
    PlotCoverage,
    StatsTable,
    compute_coverage,
    mask_sums,
    plot_statistics,
    read_samples,
    sample_statistics,
)

UTM = "EPSG:32649"
ORIGIN = (519_600.0, 3_142_000.0)  # top-left corner, ~111.2°E 28.4°N
SIZE = 64
TRANSFORM = Affine(10, 0, ORIGIN[0], 0, -10, ORIGIN[1])
THRESHOLDS: dict[str, Any] = {"min_valid_pixels": 3, "min_clear_fraction": 0.5}

#: exactextract operation → our field.
OPS = {
    "mean": "mean",
    "stdev": "std",
    "min": "min",
    "max": "max",
    "median": "median",
    "quantile(q=0.1)": "p10",
    "quantile(q=0.9)": "p90",
    "count": "valid_weight",
}


def to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    """The same polygon with its vertices in EPSG:4326 (lon, lat)."""
    transformer = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def utm(dx: float, dy: float) -> tuple[float, float]:
    """A point ``dx`` m east and ``dy`` m south of the raster's top-left corner."""
    return (ORIGIN[0] + dx, ORIGIN[1] - dy)


def index_values(seed: int = 7) -> np.ndarray:
    """A smooth NDVI-like field with noise and a few NaN pixels inside the plots."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    rng = np.random.default_rng(seed)
    field = 0.55 + 0.3 * np.sin(cols / 6.0) * np.cos(rows / 8.0) + rng.normal(0, 0.05, (64, 64))
    values = field.astype(np.float32)
    values[[8, 22, 27, 31], [13, 29, 1, 22]] = np.nan  # in a, b, c and outside
    return values


def write_cog(path: Path, values: np.ndarray, transform: Affine = TRANSFORM):
    """A tiled float32 COG (NaN nodata) of ``values`` in UTM 49N."""
    profile = {
        "driver": "COG",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": UTM,
        "transform": transform,
        "nodata": np.nan,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture()
def plots() -> gpd.GeoDataFrame:
    """The three case plots, all in EPSG:4326 (as stored), ids "a", "b", "c"."""
    partial = shapely.Polygon(
        [utm(123.8, 73.8), utm(149.4, 79.1), utm(143.7, 104.7), utm(118.1, 99.4)]
    )
    outer = shapely.Polygon(
        [utm(217.7, 150.9), utm(325.1, 159.4), utm(316.2, 243.7), utm(210.4, 236.6)]
    )
    hole = shapely.Polygon(
        [utm(254.0, 184.1), utm(277.8, 185.7), utm(276.3, 204.8), utm(252.6, 203.4)]
    )
    edge = shapely.Polygon(
        [utm(-29.0, 261.1), utm(49.7, 268.7), utm(45.3, 325.4), utm(-34.8, 318.6)]
    )
    geoms = [partial, shapely.Polygon(outer.exterior, [hole.exterior]), edge]
    return gpd.GeoDataFrame(
        {"code": ["a", "b", "c"]}, geometry=[to_wgs84(g) for g in geoms], crs="EPSG:4326"
    )


@pytest.fixture()
def cog(tmp_path: Path) -> Path:
    return write_cog(tmp_path / "ndvi.tif", index_values())


def exactextract_reference(path: Path, plots: gpd.GeoDataFrame) -> pd.DataFrame:
    """exactextract on the COG; plots reprojected with pyproj; a CRS mismatch is an error."""
    with rasterio.open(path) as src:
        projected = plots.to_crs(src.crs.to_wkt())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = exact_extract(str(path), projected, list(OPS), output="pandas")
    return result.rename(
        columns={"quantile_10": "quantile(q=0.1)", "quantile_90": "quantile(q=0.9)"}
    )


def stats_from_cog(path: Path, plots: gpd.GeoDataFrame) -> tuple[PlotCoverage, StatsTable]:
    with rasterio.open(path) as src:
        coverage = compute_coverage(plots, src, id_column="code")
        samples = read_samples(src, coverage, strip_rows=16)
    return coverage, sample_statistics(coverage, samples, **THRESHOLDS)


def supersampled(
    values: np.ndarray, polygon: shapely.Geometry, factor: int = 10
) -> dict[str, float]:
    """Mean, std, min and max with weights from a factor×factor sub-pixel containment test."""
    transform = TRANSFORM
    offsets = (np.arange(SIZE * factor) + 0.5) / factor
    xs, ys = np.meshgrid(transform.c + offsets * transform.a, transform.f + offsets * transform.e)
    inside = shapely.contains_xy(polygon, xs, ys)
    weight = inside.reshape(SIZE, factor, SIZE, factor).sum(axis=(1, 3)) / factor**2
    valid = (weight > 0) & ~np.isnan(values)
    w, x = weight[valid], values[valid].astype(np.float64)
    mean = float(np.sum(w * x) / np.sum(w))
    return {
        "mean": mean,
        "std": float(np.sqrt(np.sum(w * (x - mean) ** 2) / np.sum(w))),
        "min": float(x.min()),
        "max": float(x.max()),
    }


@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_statistics_equal_exactextract_on_the_same_cog(cog, plots, case):
    _, table = stats_from_cog(cog, plots)
    reference = exactextract_reference(cog, plots)
    k = list(table.plot_id).index(case)
    assert 0 < table.valid_weight[k] < table.total_weight[k]  # a NaN pixel lies in each plot
    for op, field in OPS.items():
        assert getattr(table, field)[k] == pytest.approx(reference[op][k], abs=1e-5), (case, op)


@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_mean_std_min_max_match_a_tenfold_supersampled_reference(cog, plots, case):
    coverage, table = stats_from_cog(cog, plots)
    k = list(table.plot_id).index(case)
    # Premise: no pixel is a sliver the 10×10 sub-pixel centres could all miss.
    assert coverage.weights[coverage.offsets[k] : coverage.offsets[k + 1]].min() > 0.02
    with rasterio.open(cog) as src:
        polygon = plots.to_crs(src.crs.to_wkt()).geometry.iloc[k]
    reference = supersampled(index_values(), polygon)
    for field, expected in reference.items():
        assert getattr(table, field)[k] == pytest.approx(expected, abs=1e-3), (case, field)


def test_partial_pixels_count_by_the_fraction_covered(cog, plots):
    coverage, table = stats_from_cog(cog, plots)
    k = list(coverage.plot_ids).index("a")
    weights = coverage.weights[coverage.offsets[k] : coverage.offsets[k + 1]]
    assert (weights < 1).any() and (weights > 0).all()
    assert table.total_weight[k] == pytest.approx(coverage.area_px[k], rel=1e-5)  # ~1 亩
    assert 6 < coverage.area_px[k] < 7


def test_an_edge_plot_counts_only_its_part_on_the_grid(cog, plots):
    coverage, table = stats_from_cog(cog, plots)
    k = list(coverage.plot_ids).index("c")
    assert coverage.cols[coverage.offsets[k] : coverage.offsets[k + 1]].min() == 0
    assert 0.4 < table.total_weight[k] / coverage.area_px[k] < 0.6


def test_one_coverage_serves_every_index_on_the_grid(tmp_path, plots, monkeypatch):
    import ingest._cells as coverage_module

    calls: list[object] = []
    real = coverage_module.exact_extract

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(coverage_module, "exact_extract", counting)
    first = write_cog(tmp_path / "ndvi.tif", index_values(seed=1))
    second = write_cog(tmp_path / "ndmi.tif", index_values(seed=2) - 0.3)
    with rasterio.open(first) as src:
        coverage = compute_coverage(plots, src, id_column="code")
    weights_before = coverage.weights.copy()
    for path in (first, second):
        with rasterio.open(path) as src:
            table = plot_statistics(coverage, src.read(1), **THRESHOLDS)
        reference = exactextract_reference(path, plots)
        np.testing.assert_allclose(table.mean, reference["mean"], atol=1e-5)
        np.testing.assert_allclose(table.p90, reference["quantile(q=0.9)"], atol=1e-5)
    assert len(calls) == 1
    np.testing.assert_array_equal(coverage.weights, weights_before)
    assert not coverage.weights.flags.writeable


def test_mask_sums_shared_by_two_indices_equal_each_index_on_its_own(cog, plots):
    with rasterio.open(cog) as src:
        coverage = compute_coverage(plots, src, id_column="code")
        first = coverage.sample(src.read(1))
    second = coverage.sample(index_values(seed=5) - 0.2)
    rng = np.random.default_rng(4)
    reasons = rng.choice(np.array([0, 0, 0, 3, 9], np.uint8), coverage.n_cells)
    masks = mask_sums(coverage, reasons)
    for samples in (first, second):
        shared = sample_statistics(coverage, samples, reasons, masks=masks, **THRESHOLDS)
        alone = sample_statistics(coverage, samples, reasons, **THRESHOLDS)
        pd.testing.assert_frame_equal(shared.to_frame(), alone.to_frame())
    # The sums themselves, by hand per plot.
    for k in range(coverage.n_plots):
        part = slice(coverage.offsets[k], coverage.offsets[k + 1])
        w, r = coverage.weights[part].astype(np.float64), reasons[part]
        assert masks.clear_fraction[k] == pytest.approx(w[r == 0].sum() / w.sum())
        assert masks.shares[9][k] == pytest.approx(w[r == 9].sum() / w.sum())
    with pytest.raises(GridMismatch):
        mask_sums(coverage, reasons[:-1])


def test_windowed_reading_equals_sampling_the_whole_array(cog, plots):
    with rasterio.open(cog) as src:
        coverage = compute_coverage(plots, src)
        whole = coverage.sample(src.read(1))
        for strip_rows in (1, 7, 32, 1024):
            np.testing.assert_array_equal(read_samples(src, coverage, strip_rows=strip_rows), whole)


def test_a_raster_on_another_grid_is_refused(tmp_path, cog, plots):
    shifted = write_cog(
        tmp_path / "shifted.tif", index_values(), Affine(10, 0, 519_610.0, 0, -10, 3_142_000.0)
    )
    with rasterio.open(cog) as src:
        coverage = compute_coverage(plots, src)
    with rasterio.open(shifted) as src, pytest.raises(GridMismatch, match="519610"):
        read_samples(src, coverage)
    with pytest.raises(GridMismatch, match=r"\(32, 64\)"):
        plot_statistics(coverage, np.zeros((32, 64), np.float32), **THRESHOLDS)
