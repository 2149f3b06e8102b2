"""Benchmark of per-plot statistics: our engine beside exactextract on one generated scene.

Writes a 10980×10980 float32 NDVI-like scene (a full Sentinel-2 tile at 10 m, EPSG:32649,
~15 % NaN "clouds") as a tiled DEFLATE GeoTIFF in a temporary folder, in row blocks, and
scatters N plots of 0.05–2 ha (rotated rectangles and irregular polygons, stored in
EPSG:4326). For each N, two child processes compute mean, std, min, max, median, p10, p90 and
count (valid weight) of every plot from the same file:

- ``ours``: :func:`compute_coverage` (once per plot set and grid), :func:`read_samples`
  (row strips), :func:`sample_statistics`;
- ``exactextract``: ``exact_extract(..., strategy="raster-sequential")``.

Each side reprojects the plots itself and runs in its own process, so its peak memory
(``ru_maxrss`` of that process) is its own. Prints times, the ratio, peak memory and the
largest difference between the two results. Run with
``.venv/bin/python bench/bench_stats.py --plots 10000 100000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

CRS_UTM = "EPSG:32649"
ORIGIN = (600_000.0, 3_200_040.0)  # a Sentinel-2 tile corner in UTM 49N (Anhua's tiles)
PIXEL_M = 10.0
FIELDS = ("mean", "std", "min", "max", "median", "p10", "p90", "valid_weight")
EXACTEXTRACT_OPS = {
    "mean": "mean",
    "stdev": "std",
    "min": "min",
    "max": "max",
    "median": "median",
    "quantile(q=0.1)": "p10",
    "quantile(q=0.9)": "p90",
    "count": "valid_weight",
}


def write_scene(path: Path, size: int, seed: int = 1, block: int = 512) -> None:
    """A float32 scene written block-row by block-row (never whole in memory)."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    clouds = np.column_stack(
        [rng.uniform(0, size, 50), rng.uniform(0, size, 50), rng.uniform(0.01, 0.06, 50) * size]
    )
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS_UTM,
        "transform": Affine(PIXEL_M, 0, ORIGIN[0], 0, -PIXEL_M, ORIGIN[1]),
        "nodata": np.nan,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 1,
        "num_threads": "all_cpus",
        "bigtiff": "if_safer",
    }
    cols = np.arange(size)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, block):
            rows = np.arange(top, min(top + block, size))[:, None]
            field = 0.55 + 0.25 * np.sin(cols / 300.0) * np.cos(rows / 410.0)
            values = (field + rng.normal(0, 0.05, (len(rows), size))).astype(np.float32)
            for cx, cy, radius in clouds:
                near = (rows - cy) ** 2 + (cols - cx) ** 2 < radius**2
                values[near] = np.nan
            dst.write(values, 1, window=((top, top + len(rows)), (0, size)))


def make_plots(path: Path, count: int, size: int, seed: int = 2) -> None:
    """``count`` plots of 0.05–2 ha scattered over the scene, saved in EPSG:4326."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    area = np.exp(rng.uniform(np.log(500), np.log(20_000), count))  # m², log-uniform
    extent = size * PIXEL_M
    cx = ORIGIN[0] + rng.uniform(0, extent, count)
    cy = ORIGIN[1] - rng.uniform(0, extent, count)
    angle = rng.uniform(0, np.pi, count)
    # Half rotated rectangles (aspect 1:1–1:3), half irregular 7-gons of about that area.
    n_vertices = 7
    theta = np.where(
        np.arange(count)[:, None] % 2 == 0,
        np.array([0.25, 0.75, 1.25, 1.75, 2.0, 2.0, 2.0])[None, :] * np.pi,
        np.sort(rng.uniform(0, 2 * np.pi, (count, n_vertices)), axis=1),
    )
    aspect = rng.uniform(1, 3, count)[:, None]
    radius = np.where(
        np.arange(count)[:, None] % 2 == 0,
        1.0,
        rng.uniform(0.7, 1.3, (count, n_vertices)),
    )
    ux = np.cos(theta) * radius * np.sqrt(aspect)
    uy = np.sin(theta) * radius / np.sqrt(aspect)
    rings = np.stack([ux, uy], axis=-1)
    scale = np.sqrt(area / shapely.area(shapely.polygons(rings)))[:, None, None]
    rings = rings * scale
    rot = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], axis=1)
    x = rot[:, 0:1] * rings[..., 0] + rot[:, 1:2] * rings[..., 1] + cx[:, None]
    y = rot[:, 2:3] * rings[..., 0] + rot[:, 3:4] * rings[..., 1] + cy[:, None]
    geoms = shapely.make_valid(shapely.polygons(np.stack([x, y], axis=-1)))
    frame = gpd.GeoDataFrame({"pid": np.arange(count)}, geometry=geoms, crs=CRS_UTM)
    frame.to_crs("EPSG:4326").to_parquet(path)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(scene: Path, plots_path: Path, out: Path) -> dict[str, float]:
    import geopandas as gpd
    import rasterio

    from ingest.satellite.stats import compute_coverage, read_samples, sample_statistics

    plots = gpd.read_parquet(plots_path)
    baseline = peak_rss_mb()
    start = time.perf_counter()
    with rasterio.open(scene) as src:
        coverage = compute_coverage(plots, src, id_column="pid")
        covered = time.perf_counter()
        samples = read_samples(src, coverage)
    read = time.perf_counter()
    table = sample_statistics(coverage, samples, min_valid_pixels=3, min_clear_fraction=0.5)
    done = time.perf_counter()
    np.savez(out, plot_id=table.plot_id, **{f: getattr(table, f) for f in FIELDS})
    return {
        "total_s": done - start,
        "coverage_s": covered - start,
        "read_s": read - covered,
        "stats_s": done - read,
        "cells": coverage.n_cells,
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
    }


def run_exactextract(scene: Path, plots_path: Path, out: Path) -> dict[str, float]:
    import geopandas as gpd
    import rasterio
    from exactextract import exact_extract

    plots = gpd.read_parquet(plots_path)
    baseline = peak_rss_mb()
    start = time.perf_counter()
    with rasterio.open(scene) as src:
        projected = plots.to_crs(src.crs.to_wkt())
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a CRS mismatch is an error
            frame = exact_extract(
                src,
                projected,
                list(EXACTEXTRACT_OPS),
                include_cols=["pid"],
                strategy="raster-sequential",
                output="pandas",
            )
    done = time.perf_counter()
    frame = frame.sort_values("pid")
    columns = dict(zip(frame.columns[1:], EXACTEXTRACT_OPS.values(), strict=True))
    np.savez(
        out,
        plot_id=frame["pid"].to_numpy(),
        **{field: frame[column].to_numpy(np.float64) for column, field in columns.items()},
    )
    return {"total_s": done - start, "baseline_mb": baseline, "peak_mb": peak_rss_mb()}


def child(side: str, scene: Path, plots_path: Path, out: Path, cache_mb: int) -> dict[str, Any]:
    """Run one side in a fresh interpreter; its figures come back as JSON."""
    command = [sys.executable, __file__, "--side", side, "--scene", str(scene)]
    command += ["--plots-file", str(plots_path), "--out", str(out)]
    # The same GDAL block cache on both sides (GDAL's default is 5 % of RAM).
    env = os.environ | {"GDAL_CACHEMAX": str(cache_mb)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(ours_path: Path, theirs_path: Path) -> dict[str, float]:
    """Largest absolute difference per statistic; NaN patterns must agree."""
    ours, theirs = np.load(ours_path, allow_pickle=True), np.load(theirs_path, allow_pickle=True)
    assert np.array_equal(ours["plot_id"], theirs["plot_id"])
    diffs = {}
    for field in FIELDS:
        a, b = ours[field], theirs[field]
        assert np.array_equal(np.isnan(a), np.isnan(b)), field
        both = ~np.isnan(a)
        diffs[field] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))
    return diffs


def main() -> None:
    """Run the benchmark (or, with ``--side``, one side of it) and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--size", type=int, default=10_980, help="scene width and height, px")
    parser.add_argument("--gdal-cache-mb", type=int, default=256, help="GDAL_CACHEMAX per side")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--side", choices=["ours", "exactextract"], help=argparse.SUPPRESS)
    parser.add_argument("--scene", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plots-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run = run_ours if args.side == "ours" else run_exactextract
        print(json.dumps(run(args.scene, args.plots_file, args.out)))
        return

    folder = Path(tempfile.mkdtemp(prefix="skyground-bench-stats-"))
    try:
        scene = folder / "ndvi.tif"
        start = time.perf_counter()
        write_scene(scene, args.size)
        size_mb = os.path.getsize(scene) / 2**20
        print(
            f"scene {args.size}x{args.size} float32, deflate tiles: {size_mb:.1f} MiB written in "
            f"{time.perf_counter() - start:.1f} s"
        )
        print(
            f"exactextract {version('exactextract')}, numpy {np.__version__}, {os.cpu_count()} "
            f"CPUs; each side in its own process, GDAL_CACHEMAX {args.gdal_cache_mb} MB",
            flush=True,
        )
        for count in args.plots:
            plots_path = folder / f"plots_{count}.parquet"
            make_plots(plots_path, count, args.size)
            cache = args.gdal_cache_mb
            ours = child("ours", scene, plots_path, folder / f"ours_{count}.npz", cache)
            theirs = child("exactextract", scene, plots_path, folder / f"ee_{count}.npz", cache)
            diffs = compare(folder / f"ours_{count}.npz", folder / f"ee_{count}.npz")
            print(f"\n{count} plots ({ours['cells']:,} plot-pixel entries)")
            print(
                f"  ours          {ours['total_s']:7.1f} s  (coverage {ours['coverage_s']:.1f} s, "
                f"read {ours['read_s']:.1f} s, statistics {ours['stats_s']:.1f} s)  "
                f"peak {ours['peak_mb']:.0f} MiB (after imports and plots: "
                f"{ours['baseline_mb']:.0f})"
            )
            print(
                f"  exactextract  {theirs['total_s']:7.1f} s  (raster-sequential)  "
                f"peak {theirs['peak_mb']:.0f} MiB (after imports and plots: "
                f"{theirs['baseline_mb']:.0f})"
            )
            print(f"  ratio exactextract / ours: {theirs['total_s'] / ours['total_s']:.2f}")
            reuse = ours["read_s"] + ours["stats_s"]
            print(
                f"  each further index on the same coverage: {reuse:.1f} s "
                f"(exactextract again: {theirs['total_s']:.1f} s)"
            )
            print(
                "  max |ours - exactextract|: "
                + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
            )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
