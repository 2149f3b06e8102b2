"""Benchmark of a whole satellite ingest beside exactextract computing one index.

Generates one Sentinel-2 L2A-like scene (default 10980×10980 px at 10 m, a full tile in
EPSG:32649) in the one-file-per-band layout :func:`ingest.satellite._inputs.find_scenes`
reads: B02, B03, B04, B08 at 10 m, B05, B11 and SCL at 20 m, uint16 DN with
``BOA_ADD_OFFSET`` −1000 and an ``MTD_MSIL2A.xml`` of baseline 04.00, tiled DEFLATE GeoTIFFs
written in row blocks. Reflectances are vegetation-like (NDVI 0.1–0.9 in a smooth pattern
plus noise); the SCL is clear vegetation (4) with round clouds (9, rim 8) and their shadows
(3), about 15 % of the tile. N plots of 0.05–2 ha (``bench_stats.make_plots``) go into a
throw-away embedded cluster with plain ``COPY``.

Then, in one run, ``--rounds`` times (default 3) one after the other, the scene removed
between rounds so each round does the same work; the medians are reported, since times on
a shared VM move by ±15 % from run to run:

- ``ours``: :func:`ingest.satellite.ingest.ingest_local` on the scene folder, all six
  indices end to end (read, radiometry, mask, indices, statistics, COGs, committed write);
- ``exactextract``: exactextract ``raster-sequential`` in a child process
  (``bench_stats.py --side exactextract``) computing mean, stdev, min, max, median,
  quantiles 0.1/0.9 and count (coverage-weighted) for the same plots, reprojected to the
  raster CRS, from an NDVI raster precomputed at generation time (float32, NaN where the
  SCL masks, tiled DEFLATE).

Peak memory is the sum of RSS over this process, its children and the embedded cluster's
PostgreSQL processes (postmaster and backends), sampled every 0.2 s in a thread. RSS counts
pages shared between processes (PostgreSQL's shared buffers) once per process, so the sum
is an upper bound. (The child's own ``ru_maxrss`` is not used: on Linux it inherits the
forking parent's high-water mark.) Run with ``.venv/bin/python bench/bench_ingest.py`` (the
issue's size) or ``--size 3000 --plots 20000``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import psutil  # type: ignore[import-untyped]
import rasterio
import shapely
from affine import Affine
from bench_stats import CRS_UTM, FIELDS, ORIGIN, PIXEL_M, child, make_plots
from sqlalchemy import Engine, text

from ingest.demo_scenes import _mtd
from ingest.satellite.ingest import IngestOptions, ingest_local
from models.cluster import EmbeddedCluster
from models.db import engine_for, prepare_database
from models.settings import DatabaseSettings

SCENE = "BENCH_S2L2A_20250601"
DAY = date(2025, 6, 1)
GOAL_RATIO = 2.0
GOAL_PEAK_GB = 6.0
_QUANTIFICATION = 10_000
_OFFSET_DN = 1000  # DN = reflectance × 10000 + 1000 (baseline 04.00)
_GTIFF = {
    "driver": "GTiff", "compress": "deflate", "zlevel": 1, "tiled": True,
    "blockxsize": 512, "blockysize": 512, "crs": CRS_UTM, "count": 1,
    "num_threads": "all_cpus", "bigtiff": "if_safer",
}  # fmt: skip
_MASKED_SCL = (0, 1, 2, 3, 8, 9, 10, 11)


def _clouds(size: int, seed: int) -> npt.NDArray[np.float64]:
    """Cloud discs (x, y, radius in metres); shadows sit 600 m NNW of each."""
    rng = np.random.default_rng(seed)
    extent = size * PIXEL_M
    count = 40
    return np.column_stack(
        [
            ORIGIN[0] + rng.uniform(0, extent, count),
            ORIGIN[1] - rng.uniform(0, extent, count),
            rng.uniform(0.015, 0.05, count) * extent,
        ]
    )


def _scl(
    xs: npt.NDArray[np.floating[Any]],
    ys: npt.NDArray[np.floating[Any]],
    clouds: npt.NDArray[np.float64],
) -> npt.NDArray[np.uint8]:
    """SCL at pixel centres ``xs`` (columns) × ``ys`` (rows): 4, shadows 3, clouds 8/9."""
    scl = np.full((len(ys), len(xs)), 4, dtype=np.uint8)
    x, y = xs[None, :], ys[:, None]
    # Only discs reaching these rows are drawn (the shadow sits 550 m north, 250 m west).
    near = [c for c in clouds if ys.min() - c[2] - 600 <= c[1] <= ys.max() + c[2] + 600]
    for cx, cy, radius in near:
        scl[(x - cx + 250) ** 2 + (y - cy - 550) ** 2 < (0.9 * radius) ** 2] = 3
    for cx, cy, radius in near:
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        scl[d2 < radius**2] = 8
        scl[d2 < (0.75 * radius) ** 2] = 9
    return scl


def _dn(reflectance: npt.NDArray[np.float64]) -> npt.NDArray[np.uint16]:
    dn = np.rint(reflectance * _QUANTIFICATION) + _OFFSET_DN
    out: npt.NDArray[np.uint16] = np.clip(dn, 1, 65534).astype(np.uint16)
    return out


def _block_mean(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    rows, cols = values.shape
    return np.asarray(values.reshape(rows // 2, 2, cols // 2, 2).mean(axis=(1, 3)))


def write_scene(folder: Path, size: int, ndvi_path: Path, seed: int = 3, block: int = 512) -> Path:
    """Write the band files, SCL, metadata and the precomputed NDVI; the scene folder."""
    scene = folder / SCENE
    scene.mkdir(parents=True)
    transform = Affine(PIXEL_M, 0, ORIGIN[0], 0, -PIXEL_M, ORIGIN[1])
    half = size // 2
    files = {
        b: (scene / f"{SCENE}_{b}_{res}m.tif", res)
        for b, res in (("B02", 10), ("B03", 10), ("B04", 10), ("B08", 10),
                       ("B05", 20), ("B11", 20), ("SCL", 20))
    }  # fmt: skip
    clouds = _clouds(size, seed)
    rng = np.random.default_rng(seed)
    opened = {}
    for name, (path, res) in files.items():
        side = size if res == 10 else half
        dtype, nodata, predictor = ("uint8", None, 1) if name == "SCL" else ("uint16", 0, 2)
        opened[name] = rasterio.open(
            path, "w", **_GTIFF, width=side, height=side, dtype=dtype, nodata=nodata,
            predictor=predictor, transform=transform * Affine.scale(res / PIXEL_M),
        )  # fmt: skip
    ndvi_out = rasterio.open(
        ndvi_path, "w", **_GTIFF, width=size, height=size, dtype="float32", nodata=np.nan,
        predictor=3, transform=transform,
    )  # fmt: skip
    xs10 = ORIGIN[0] + (np.arange(size) + 0.5) * PIXEL_M
    xs20 = ORIGIN[0] + (np.arange(half) + 0.5) * 2 * PIXEL_M
    try:
        for top in range(0, size, block):
            rows = min(block, size - top)
            ys10 = ORIGIN[1] - (top + np.arange(rows) + 0.5) * PIXEL_M
            ys20 = ORIGIN[1] - (top // 2 + np.arange(rows // 2) + 0.5) * 2 * PIXEL_M
            field = 0.55 + 0.2 * np.sin(xs10[None, :] / 3000.0) * np.cos(ys10[:, None] / 4100.0)
            ndvi = np.clip(field + rng.normal(0, 0.05, (rows, size)), 0.1, 0.9)
            red = (np.rint((0.155 - 0.15 * ndvi) * _QUANTIFICATION)) / _QUANTIFICATION
            nir = red * (1 + ndvi) / (1 - ndvi)
            refl = {"B04": red, "B08": nir, "B03": 0.5 * red + 0.12 * nir + 0.01,
                    "B02": 0.6 * red + 0.01}  # fmt: skip
            red20, nir20 = _block_mean(red), _block_mean(nir)
            refl["B05"] = 0.55 * red20 + 0.25 * nir20 + 0.01
            refl["B11"] = 0.30 - 0.14 * (nir20 - red20) / (nir20 + red20)
            scl20 = _scl(xs20, ys20, clouds)
            scl10 = np.repeat(np.repeat(scl20, 2, axis=0), 2, axis=1)
            dn: dict[str, npt.NDArray[np.uint16]] = {}
            for name, values in refl.items():
                scl = scl10 if values.shape[1] == size else scl20
                values = np.where(scl == 3, values * 0.35, values)
                values = np.where(scl >= 8, 0.30 if name == "B11" else 0.42, values)
                dn[name] = _dn(values)
                r0 = top if values.shape[1] == size else top // 2
                opened[name].write(
                    dn[name], 1, window=((r0, r0 + len(values)), (0, values.shape[1]))
                )  # noqa: E501
            opened["SCL"].write(scl20, 1, window=((top // 2, top // 2 + len(scl20)), (0, half)))
            r, n = (
                (dn[b].astype(np.float32) - _OFFSET_DN) / _QUANTIFICATION for b in ("B04", "B08")
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                index = ((n - r) / (n + r)).astype(np.float32)
            index[np.isin(scl10, _MASKED_SCL) | (index < -1) | (index > 1)] = np.nan
            ndvi_out.write(index, 1, window=((top, top + rows), (0, size)))
    finally:
        for dst in opened.values():
            dst.close()
        ndvi_out.close()
    (scene / "MTD_MSIL2A.xml").write_text(_mtd(DAY, SCENE), encoding="utf-8")
    return scene


def insert_plots(engine: Engine, plots_path: Path) -> int:
    """COPY the plots (EPSG:4326, ids 1..N in ``pid`` order) into ``plots``; their count."""
    frame = gpd.read_parquet(plots_path).sort_values("pid")
    area_m2 = frame.to_crs(CRS_UTM).area.to_numpy()
    geoms = shapely.set_srid(np.asarray(frame.geometry.array), 4326)
    multi = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms]
    hexes = shapely.to_wkb(shapely.set_srid(np.asarray(multi), 4326), hex=True, include_srid=True)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy("COPY plots (code, area_m2, geom) FROM STDIN") as copy:
            for pid, area, geom in zip(frame["pid"], area_m2, hexes, strict=True):
                copy.write_row((f"P{pid:07d}", float(area), geom))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE plots"))
    return len(frame)


class TreeMemory:
    """Peak of summed RSS over this process tree and the cluster's server processes."""

    def __init__(self, postmaster_pid: int, interval_s: float = 0.2) -> None:
        self.me = psutil.Process()
        self.postmaster = psutil.Process(postmaster_pid)
        self.interval_s = interval_s
        self.phase = "setup"
        # phase → (total, this process, its children, postgres) at the phase's peak
        self.peaks: dict[str, tuple[int, int, int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, procs: list[psutil.Process]) -> int:
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def sample(self) -> None:
        """Take one sample and keep it if it is the phase's peak."""
        mine = self._rss([self.me])
        children = self._rss(self.me.children(recursive=True))
        pg = self._rss([self.postmaster, *self.postmaster.children(recursive=True)])
        best = self.peaks.get(self.phase, (0, 0, 0, 0))
        if mine + children + pg > best[0]:
            self.peaks[self.phase] = (mine + children + pg, mine, children, pg)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[TreeMemory]:
        """Sample in a thread while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def compare(engine: Engine, theirs_path: Path) -> tuple[int, dict[str, float]]:
    """Plots compared and largest |ours − exactextract| per statistic (NDVI, both finite)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT plot_id - 1, mean, std, min, max, median, p10, p90, valid_weight "
                "FROM plot_index_stats WHERE index = 'NDVI' ORDER BY plot_id"
            )
        ).all()
    ours = np.array(rows, dtype=np.float64)
    theirs = np.load(theirs_path, allow_pickle=True)
    at = np.searchsorted(theirs["plot_id"], ours[:, 0].astype(np.int64))
    diffs = {}
    for k, field in enumerate(FIELDS, start=1):
        a, b = ours[:, k], theirs[field][at]
        both = np.isfinite(a) & np.isfinite(b)
        diffs[field] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))
    return len(ours), diffs


def _fresh(engine: Engine, store: Path) -> None:
    """Remove the ingested scene (its statistics go with it) and its rasters."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE scenes, raster_assets, plot_index_stats, plot_latest"))
    shutil.rmtree(store, ignore_errors=True)


def _gb(n: int) -> float:
    return n / 1e9


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_980, help="scene width and height, px")
    parser.add_argument("--plots", type=int, default=200_000)
    parser.add_argument("--gdal-cache-mb", type=int, default=256, help="exactextract's cache")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate ours and exactextract; medians"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.size % 2:
        parser.error("--size must be even (the 20 m grid nests in the 10 m grid)")
    home = Path(tempfile.mkdtemp(prefix="skyground-bench-ingest-"))
    home.chmod(0o755)
    db_settings = DatabaseSettings(home=home, database_url=None)
    engine: Engine | None = None
    try:
        start = time.perf_counter()
        ndvi_path = home / "ndvi_precomputed.tif"
        scene = write_scene(home / "scenes", args.size, ndvi_path)
        scene_mb = sum(p.stat().st_size for p in scene.iterdir()) / 2**20
        print(f"scene: {args.size}x{args.size} px at 10 m, {SCENE}")
        print(f"scene_files_mib: {scene_mb:.0f}")
        print(f"scene_generated_s: {time.perf_counter() - start:.1f}")
        url = prepare_database(db_settings, durable=False)
        engine = engine_for(url, pool_size=1)
        plots_path = home / "plots.parquet"
        start = time.perf_counter()
        make_plots(plots_path, args.plots, args.size)
        count = insert_plots(engine, plots_path)
        print(f"plots: {count}")
        print(f"plots_generated_and_copied_s: {time.perf_counter() - start:.1f}")
        print(
            f"versions: exactextract {version('exactextract')}, numpy {np.__version__}, "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        postmaster = EmbeddedCluster(db_settings).data_dir / "postmaster.pid"
        pid = int(postmaster.read_text(encoding="utf-8").split()[0])
        memory = TreeMemory(pid)
        ours_times: list[float] = []
        their_times: list[float] = []
        out = home / "exactextract.npz"
        with memory.running():
            for round_ in range(1, args.rounds + 1):
                if round_ > 1:
                    _fresh(engine, home / "rasters")  # the same work again: a new scene
                memory.phase = "ours"
                start = time.perf_counter()
                _, results = ingest_local(
                    engine=engine, paths=[scene], store=home / "rasters", options=IngestOptions()
                )
                ours_times.append(time.perf_counter() - start)
                memory.phase = "exactextract"
                theirs = child("exactextract", ndvi_path, plots_path, out, args.gdal_cache_mb)
                their_times.append(theirs["total_s"])
                print(
                    f"round {round_}: ours {ours_times[-1]:.1f} s, "
                    f"exactextract {their_times[-1]:.1f} s",
                    flush=True,
                )
            memory.phase = "done"
        ours_s, theirs_s = statistics.median(ours_times), statistics.median(their_times)
        result = results[0]
        print(f"ours_indices: {','.join(result.indices)}")
        print(f"ours_plots_with_stats: {result.plots_with_stats} (flagged {result.flagged})")
        rounds = f"median of {args.rounds}" if args.rounds > 1 else "one run"
        print(f"ours_six_indices_s: {ours_s:.1f} ({rounds})")
        print(f"exactextract_one_index_s: {theirs_s:.1f} (raster-sequential, {rounds})")
        ratio = ours_s / theirs_s
        verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
        print(
            f"ratio_ours_six_over_exactextract_one: {ratio:.2f} (goal <= {GOAL_RATIO}: {verdict})"
        )
        for phase in ("ours", "exactextract"):
            total, mine, children, pg = memory.peaks.get(phase, (0, 0, 0, 0))
            goal = (
                f" (goal < {GOAL_PEAK_GB} GB: {'met' if _gb(total) < GOAL_PEAK_GB else 'NOT met'})"
            )
            print(
                f"peak_tree_rss_gb_{phase}: {_gb(total):.2f}{goal if phase == 'ours' else ''} "
                f"(this process {_gb(mine):.2f}, children {_gb(children):.2f}, "
                f"postgres {_gb(pg):.2f})"
            )
        compared, diffs = compare(engine, out)
        print(
            f"max_abs_diff_ndvi ({compared} plots): "
            + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
        )
    finally:
        if engine is not None:
            engine.dispose()
        if args.keep:
            print(f"kept: {home}")
        else:
            EmbeddedCluster(db_settings).destroy()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
