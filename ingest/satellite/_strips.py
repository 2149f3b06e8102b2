"""A scene's raster work in row strips: memory bounded by one strip, whatever the scene size.

A full Sentinel-2 tile is 10980 × 10980 pixels at 10 m: seven bands as float32 reflectance
alone would take 3.4 GB, and the index rasters as much again. Here every band, the SCL and
its mask are read one strip of :data:`STRIP_ROWS` rows at a time (coarser bands and the SCL
through a window of their own grid that covers the strip, then moved onto it with the
nearest-neighbour rule of :func:`~ingest.satellite._grid.warp`; the SCL window has a halo
of the dilation width, so a dilated mask equals the whole-scene one). Per strip, the
indices are computed, their values taken at the plots' coverage entries in that strip, and
the stored (scaled) rasters written into uncompressed tiled GeoTIFFs that become the COGs
afterwards; the radiometry check counts the red and NIR DN of clear vegetation in
histograms, which give the same medians as the whole arrays.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.windows import Window, from_bounds
from rasterio.windows import transform as window_transform

from ingest.errors import BandNotInFile
from ingest.satellite._coverage import PlotCoverage
from ingest.satellite._grid import Grid, warp
from ingest.satellite.cog import CogInfo, cog_from_file, encode_true_colour
from ingest.satellite.indices import compute
from ingest.satellite.masks import MaskReason, scl_mask
from ingest.satellite.radiometry import (
    L2A_NODATA_DN,
    MIN_VEGETATED_PIXELS,
    Plausibility,
    Radiometry,
    RadiometryCheck,
    Verdict,
    check_with,
    judge_medians,
)
from ingest.satellite.read import open_checked
from models.indices import get_index
from models.indices.bands import band

__all__ = ["STRIP_ROWS", "BandSource", "SceneStrips", "StripResult", "VegetationHistogram"]

T = TypeVar("T")

#: Rows per strip: a multiple of the COG block (256) and of the 20 m to 10 m factor (2).
#: 512 rather than 1024: a full-width float32 strip (22 MB) stays under glibc's largest mmap
#: threshold (32 MB), so strip temporaries are reused from the heap instead of being mapped
#: and faulted in afresh (at full size the strip pass took ~37 s at 1024 rows, ~32 s at 512).
STRIP_ROWS: Final = 512
#: Strips computed at once (NumPy and GDAL release the GIL); memory is about one strip each.
STRIP_THREADS: Final = max(1, min(2, os.cpu_count() or 1))
_VEGETATION_SCL: Final = 4
_DN_BINS: Final = 65536


@dataclass(frozen=True)
class BandSource:
    """Where one band is: a file and its 1-based band number."""

    path: Path
    number: int = 1


class VegetationHistogram:
    """Red and NIR DN of clear vegetated pixels (SCL 4, both bands valid), summed over strips."""

    def __init__(self) -> None:
        self.red = np.zeros(_DN_BINS, dtype=np.int64)
        self.nir = np.zeros(_DN_BINS, dtype=np.int64)

    def add(
        self, red_dn: npt.NDArray[Any], nir_dn: npt.NDArray[Any], veg: npt.NDArray[Any]
    ) -> None:
        """Count the DN where ``veg`` holds."""
        self.red += np.bincount(red_dn[veg].astype(np.intp), minlength=_DN_BINS)[:_DN_BINS]
        self.nir += np.bincount(nir_dn[veg].astype(np.intp), minlength=_DN_BINS)[:_DN_BINS]

    def _judge(self, radiometry: Radiometry) -> Plausibility:
        count = int(self.red.sum())
        if count < MIN_VEGETATED_PIXELS:
            return Plausibility(Verdict.UNDECIDED, None, None, count)
        red = _median(self.red, radiometry, "red")
        nir = _median(self.nir, radiometry, "nir")
        return judge_medians(red, nir, count)

    def check(self, radiometry: Radiometry) -> RadiometryCheck:
        """What :func:`~ingest.satellite.radiometry.check_radiometry` says on these pixels."""
        return check_with(radiometry, self._judge)


def _median(counts: npt.NDArray[np.int64], radiometry: Radiometry, name: str) -> float:
    """numpy's median of the float32 reflectance of the counted DN (conversion is monotone)."""
    total = int(counts.sum())
    cumulative = np.cumsum(counts)
    middle = [(total - 1) // 2, total // 2]
    dn = np.searchsorted(cumulative, np.array(middle) + 1).astype(np.uint16)
    values = radiometry.to_reflectance(dn, name, nodata_dn=()).astype(np.float64)
    return float(np.mean(values))


@dataclass
class StripResult:
    """What the strips gave: samples at the coverage entries, COGs, clear pixels, the check."""

    samples: dict[str, npt.NDArray[np.float32]]
    reason_samples: npt.NDArray[np.uint8] | None
    cogs: dict[str, CogInfo]
    check: RadiometryCheck
    clear_pixels: int = 0
    pixels: int = 0


@dataclass(frozen=True)
class SceneStrips:
    """One scene's raster work, strip by strip (see the module docstring).

    Attributes:
        bands: our band name → where it is; the grid of the finest one is the target.
        scl: the SCL file.
        radiometry: the scene's scale and offset.
        names: indices to compute.
        mask_unclassified: mask SCL 7 too.
        dilation_px: grow clouds and shadows by this many SCL pixels.
    """

    bands: Mapping[str, BandSource]
    scl: Path
    radiometry: Radiometry
    names: Sequence[str]
    mask_unclassified: bool
    dilation_px: int

    @contextmanager
    def open(self) -> Iterator[_Open]:
        """The scene checked and its target grid (the finest band's) known, for :meth:`run`."""
        with _Readers(self) as readers:
            grids = {name: Grid.of(ds) for name, (ds, _) in readers.datasets.items()}
            target = min(grids.values(), key=lambda g: g.resolution[0])
            yield _Open(self, grids, Grid.of(readers.scl), target)


class _Readers:
    """The scene's datasets, opened for one strip (a rasterio dataset is not shared)."""

    def __init__(self, work: SceneStrips) -> None:
        self.work = work
        self.stack = ExitStack()

    def __enter__(self) -> _Readers:
        work, stack = self.work, self.stack
        with stack:
            files = {
                src.path: stack.enter_context(open_checked(src.path)) for src in work.bands.values()
            }
            self.datasets = {
                name: (files[src.path], src.number) for name, src in work.bands.items()
            }
            for name, (ds, number) in self.datasets.items():
                if not 1 <= number <= ds.count:
                    path = str(work.bands[name].path)
                    raise BandNotInFile(path=path, band=name, number=number, count=ds.count)
            self.scl = stack.enter_context(open_checked(work.scl))
            self.stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


@dataclass
class _StripOut:
    """One strip's results, computed by a worker thread, stored by the caller."""

    top: int
    picked: npt.NDArray[np.intp]
    reasons: npt.NDArray[np.uint8]
    values: dict[str, npt.NDArray[np.float32]]
    encoded: dict[str, npt.NDArray[Any]]
    clear_pixels: int
    red_hist: npt.NDArray[np.int64]
    nir_hist: npt.NDArray[np.int64]


@dataclass
class _Open:
    work: SceneStrips
    grids: dict[str, Grid]
    scl_grid: Grid
    grid: Grid

    def run(
        self,
        *,
        coverage: PlotCoverage | None,
        window: Window,
        folder: Path,
        true_colour: tuple[str, str, str],
        true_colour_kind: str,
        then: Callable[[StripResult], T],
    ) -> tuple[StripResult, T]:
        """Every strip, :data:`STRIP_THREADS` at a time; the COGs under ``folder`` for ``window``.

        ``then`` (e.g. the statistics from the samples, and their rows written) runs in this
        thread while the COGs are built; its result comes back beside the strips'.

        Worker threads (each strip with its own datasets) read and compute strips; this thread
        stores their results in strip order and writes the rasters.
        """
        work, grid = self.work, self.grid
        n_cells = coverage.n_cells if coverage is not None else 0
        samples = {name: np.full(n_cells, np.nan, np.float32) for name in work.names}
        reason_samples = np.zeros(n_cells, np.uint8) if coverage is not None else None
        histogram = VegetationHistogram()
        entries = _Entries(coverage)

        def compute_strip(top: int) -> _StripOut:
            # Each task opens its own datasets: a rasterio dataset belongs to one thread.
            with _Readers(work) as readers:
                return self._strip(readers, top, entries, true_colour, true_colour_kind)

        outputs = {name: _Output.index(folder, name, grid, window) for name in work.names}
        outputs[true_colour_kind] = _Output.colour(folder, true_colour_kind, grid, window)
        clear_pixels = 0
        tops = list(range(0, grid.height, STRIP_ROWS))
        try:
            with ThreadPoolExecutor(STRIP_THREADS, thread_name_prefix="strip") as pool:
                pending: deque[Future[_StripOut]] = deque()
                queue = iter(tops)
                for top in islice(queue, STRIP_THREADS + 1):
                    pending.append(pool.submit(compute_strip, top))
                while pending:
                    out = pending.popleft().result()
                    for top in islice(queue, 1):
                        pending.append(pool.submit(compute_strip, top))
                    clear_pixels += out.clear_pixels
                    histogram.red += out.red_hist
                    histogram.nir += out.nir_hist
                    if reason_samples is not None:
                        reason_samples[out.picked] = out.reasons
                    for name, values in out.values.items():
                        samples[name][out.picked] = values
                    for kind, data in out.encoded.items():
                        outputs[kind].write(data, out.top)
            result = StripResult(
                samples=samples,
                reason_samples=reason_samples,
                cogs={},
                check=histogram.check(work.radiometry),
                clear_pixels=clear_pixels,
                pixels=grid.height * grid.width,
            )
            # GDAL builds the COGs (overviews, compression) in other threads meanwhile.
            with ThreadPoolExecutor(STRIP_THREADS, thread_name_prefix="cog") as pool:
                building = {kind: pool.submit(out.finish) for kind, out in outputs.items()}
                meanwhile = then(result)
                result.cogs = {kind: future.result() for kind, future in building.items()}
        finally:
            for output in outputs.values():
                output.discard()
        return result, meanwhile

    def _strip(
        self,
        readers: _Readers,
        top: int,
        entries: _Entries,
        true_colour: tuple[str, str, str],
        true_colour_kind: str,
    ) -> _StripOut:
        grid = self.grid
        height = min(STRIP_ROWS, grid.height - top)
        strip = Window(0, top, grid.width, height)
        strip_grid = Grid(grid.crs, window_transform(strip, grid.transform), (height, grid.width))
        bands, dn = self._bands(readers, strip_grid)
        reasons, scl10 = self._mask(readers, strip_grid)
        clear = reasons == MaskReason.CLEAR
        veg = (scl10 == _VEGETATION_SCL) & np.isfinite(bands["red"]) & np.isfinite(bands["nir"])
        picked, r, c = entries.between(top, height)
        values: dict[str, npt.NDArray[np.float32]] = {}
        encoded: dict[str, npt.NDArray[Any]] = {}
        for name in self.work.names:
            index = np.asarray(compute(name, bands), dtype=np.float32)
            index[~clear] = np.nan
            values[name] = index[r, c]
            encoded[name] = get_index(name).scaling.encode(index)
        encoded[true_colour_kind] = encode_true_colour(*(bands[b] for b in true_colour))
        return _StripOut(
            top=top,
            picked=picked,
            reasons=reasons[r, c],
            values=values,
            encoded=encoded,
            clear_pixels=int(clear.sum()),
            red_hist=_counts(dn["red"][veg]),
            nir_hist=_counts(dn["nir"][veg]),
        )

    def _bands(
        self, readers: _Readers, strip: Grid
    ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, Any]]:
        out: dict[str, npt.NDArray[np.float32]] = {}
        dns: dict[str, Any] = {}
        for name, (ds, number) in readers.datasets.items():
            src_grid = self.grids[name]
            window, sub = _covering(src_grid, strip, halo=0)
            dn = ds.read(number, window=window, masked=True)
            refl = self.work.radiometry.to_reflectance(
                dn, band(name).s2_id, nodata_dn=L2A_NODATA_DN
            )
            if sub.same_as(strip) and sub.shape == strip.shape:
                out[name], raw = refl, np.ma.getdata(dn)
            else:
                out[name] = warp(refl, sub, strip, nodata=np.nan).astype(np.float32)
                raw = warp(np.ma.getdata(dn), sub, strip, nodata=0)
            if name in ("red", "nir"):
                dns[name] = raw
        return out, dns

    def _mask(
        self, readers: _Readers, strip: Grid
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """Mask reasons and SCL classes on the strip, from one read of the SCL window.

        The window has a halo of the dilation width, so the dilated mask equals the
        whole-scene one.
        """
        halo = self.work.dilation_px
        window, sub = _covering(self.scl_grid, strip, halo=halo)
        classes = readers.scl.read(1, window=window).astype(np.uint8)
        mask = scl_mask(classes, mask_unclassified=self.work.mask_unclassified, dilation_px=halo)
        reasons = np.asarray(warp(mask.reason, sub, strip, nodata=0), dtype=np.uint8)
        return reasons, np.asarray(warp(classes, sub, strip, nodata=0), dtype=np.uint8)


def _counts(dn: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    return np.bincount(dn.astype(np.intp), minlength=_DN_BINS)[:_DN_BINS].astype(np.int64)


class _Entries:
    """Coverage entries by pixel row, to find those of a strip."""

    def __init__(self, coverage: PlotCoverage | None) -> None:
        self.coverage = coverage
        if coverage is not None:
            self.order = coverage.row_order
            self.rows = coverage.rows[self.order]

    def between(
        self, top: int, height: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Entries in rows ``top`` … ``top + height``: positions, strip rows, columns."""
        if self.coverage is None:
            empty = np.empty(0, np.intp)
            return empty, empty, empty
        lo, hi = np.searchsorted(self.rows, [top, top + height])
        picked = self.order[lo:hi]
        strip_rows = (self.rows[lo:hi] - top).astype(np.intp)
        return picked, strip_rows, self.coverage.cols[picked].astype(np.intp)


def _covering(src: Grid, strip: Grid, *, halo: int) -> tuple[Window, Grid]:
    """The window of ``src`` that covers ``strip`` (plus ``halo`` src pixels), and its grid."""
    left, bottom, right, top = strip.bounds
    wanted = from_bounds(left, bottom, right, top, src.transform)
    col0 = max(0, math.floor(wanted.col_off + 1e-6) - halo)
    row0 = max(0, math.floor(wanted.row_off + 1e-6) - halo)
    col1 = min(src.width, math.ceil(wanted.col_off + wanted.width - 1e-6) + halo)
    row1 = min(src.height, math.ceil(wanted.row_off + wanted.height - 1e-6) + halo)
    window = Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))
    grid = Grid(
        src.crs, window_transform(window, src.transform), (int(window.height), int(window.width))
    )
    return window, grid


class _Output:
    """An uncompressed tiled GeoTIFF of ``window`` filled strip by strip, then a COG."""

    def __init__(
        self, path: Path, grid: Grid, window: Window, dtype: str, count: int, nodata: float,
        scaling: Any,
    ) -> None:  # fmt: skip
        self.path, self.window, self.nodata, self.scaling = path, window, nodata, scaling
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{path.name}.src-*"):
            stale.unlink(missing_ok=True)
        self.source = path.with_name(f".{path.name}.src-{os.getpid()}")
        self.r0, self.c0 = int(window.row_off), int(window.col_off)
        self.h, self.w = int(window.height), int(window.width)
        self.dataset = rasterio.open(
            self.source, "w", driver="GTiff", dtype=dtype, count=count, height=self.h,
            width=self.w, crs=grid.crs, transform=window_transform(window, grid.transform),
            nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
        )  # fmt: skip
        if scaling is not None:
            self.dataset.scales = (scaling.scale,) * count
            self.dataset.offsets = (scaling.offset,) * count

    @classmethod
    def index(cls, folder: Path, name: str, grid: Grid, window: Window) -> _Output:
        scaling = get_index(name).scaling
        return cls(folder / f"{name}.tif", grid, window, scaling.dtype, 1, scaling.nodata, scaling)

    @classmethod
    def colour(cls, folder: Path, kind: str, grid: Grid, window: Window) -> _Output:
        return cls(folder / f"{kind}.tif", grid, window, "uint8", 3, 0, None)

    def write(self, data: npt.NDArray[Any], top: int) -> None:
        """Rows ``top`` … of the scene (full width); only the part inside the window is kept."""
        stack = data if data.ndim == 3 else data[np.newaxis]
        first, last = max(top, self.r0), min(top + stack.shape[1], self.r0 + self.h)
        if first >= last:
            return
        part = stack[:, first - top : last - top, self.c0 : self.c0 + self.w]
        self.dataset.write(part, window=Window(0, first - self.r0, self.w, last - first))

    def finish(self) -> CogInfo:
        self.dataset.close()
        return cog_from_file(self.path, self.source, nodata=self.nodata, scaling=self.scaling)

    def discard(self) -> None:
        if not self.dataset.closed:
            self.dataset.close()
        self.source.unlink(missing_ok=True)
