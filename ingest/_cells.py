"""exactextract's pixel cells and coverage fractions for polygons on one grid.

The core of :func:`ingest.satellite._coverage.compute_coverage`, kept apart because at
county scale half of the work runs in a second Python process (``python -m ingest._cells``:
the pickled arguments of :func:`cells_of` on stdin, its pickled result or exception on
stdout). This module imports NumPy and exactextract only, not the ``ingest.satellite``
package with its database and GDAL layers, so that process starts in a fraction of a second.
"""

from __future__ import annotations

import pickle
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource
from exactextract.writer import Writer
from numpy.typing import NDArray

__all__ = ["CRS_WARNING", "Cells", "cells_of"]

#: exactextract's warning when features and raster differ in CRS (it then finds no pixels).
CRS_WARNING = "Spatial reference system of input features does not exactly match"

#: Per polygon, its number of cells; then all cells (row-major pixel ids) and their coverage
#: fractions, polygon after polygon.
Cells = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]


def cells_of(
    wkbs: Sequence[bytes],
    bounds: tuple[float, float, float, float],
    shape: tuple[int, int],
    crs_wkt: str,
    features_wkt: str | None = None,
) -> Cells:
    """The pixels each polygon touches and the fraction of each inside it (exactextract).

    Args:
        wkbs: polygons as WKB, in the grid's CRS, none empty.
        bounds: the grid's (xmin, ymin, xmax, ymax) (north-up, square-free).
        shape: the grid's (height, width).
        crs_wkt: the grid's CRS as WKT.
        features_wkt: the polygons' CRS as WKT, when it is not ``crs_wkt`` spelt the same.

    Raises:
        RuntimeWarning: exactextract saw polygons and grid in different CRSs.
    """
    writer = _Collect(len(wkbs))
    if len(wkbs):
        # Coverage does not depend on pixel values: a zero-strided array gives exactextract
        # the grid without allocating it.
        zeros = np.broadcast_to(np.float32(0), shape)
        raster = NumPyRasterSource(zeros, *bounds, srs_wkt=crs_wkt)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=CRS_WARNING, category=RuntimeWarning)
            exact_extract(
                raster,
                _WkbSource(wkbs, features_wkt or crs_wkt),
                ["cell_id", "coverage"],
                include_cols=["pos"],
                output=writer,
            )
    return writer.collected()


class _Feature(Feature):  # type: ignore[misc]
    """A feature as exactextract sees it: named values and, for inputs, a WKB geometry."""

    def __init__(self, values: dict[str, Any] | None = None, wkb: bytes | None = None) -> None:
        Feature.__init__(self)
        self.values = values if values is not None else {}
        self.wkb = wkb

    def geometry(self) -> bytes | None:
        return self.wkb

    def get(self, name: str) -> Any:
        return self.values[name]

    def set(self, name: str, value: object) -> None:
        self.values[name] = value

    def fields(self) -> list[str]:
        return list(self.values)

    def set_geometry(self, wkb: bytes | None) -> None:
        """Results carry no geometry: nothing to keep."""

    def set_geometry_format(self) -> str:
        return "wkb"


class _WkbSource(FeatureSource):  # type: ignore[misc]
    """Polygons as WKB (cheaper than geopandas' GeoJSON round trip), numbered in order."""

    def __init__(self, wkbs: Sequence[bytes], srs_wkt: str) -> None:
        super().__init__()
        self.wkbs = wkbs
        self.srs = srs_wkt

    def count(self) -> int:
        return len(self.wkbs)

    def __iter__(self) -> Iterator[_Feature]:
        for pos, wkb in enumerate(self.wkbs):
            yield _Feature({"pos": pos}, wkb)

    def srs_wkt(self) -> str:
        return self.srs


class _Collect(Writer):  # type: ignore[misc]
    """Collects exactextract's per-polygon cell ids and coverages."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.cells: list[NDArray[np.int64]] = [np.empty(0, np.int64)] * n
        self.fractions: list[NDArray[np.float32]] = [np.empty(0, np.float32)] * n

    def write(self, feature: Any) -> None:
        record = _Feature()
        feature.copy_to(record)
        pos = int(record.values["pos"])
        self.cells[pos] = np.asarray(record.values["cell_id"], dtype=np.int64)
        # exactextract computes fractions in float32: nothing is lost.
        self.fractions[pos] = np.asarray(record.values["coverage"], dtype=np.float32)

    def features(self) -> None:
        return None

    def collected(self) -> Cells:
        counts = np.array([len(c) for c in self.cells], dtype=np.int64)
        cells = np.concatenate([np.empty(0, np.int64), *self.cells])
        fractions = np.concatenate([np.empty(0, np.float32), *self.fractions])
        self.cells, self.fractions = [], []
        return counts, cells, fractions


def _serve() -> None:
    """One :func:`cells_of` call from stdin to stdout (pickles); its exception if it fails."""
    args = pickle.load(sys.stdin.buffer)
    try:
        result: object = ("ok", cells_of(*args))
    except Exception as error:  # handed to the caller, who raises it
        result = ("error", error)
    pickle.dump(result, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    _serve()
