"""Coverage split over two processes: the same result as one process, and its failures.

At county scale :func:`compute_coverage` hands half of the plots to ``python -m
ingest._cells`` (exactextract holds the GIL). These tests lower the split threshold so a
few hundred plots take that path, and compare every array with the one-process result.
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from ingest._cells import cells_of
from ingest.satellite import Grid, _coverage
from ingest.satellite.stats import CrsMismatch, compute_coverage

UTM = CRS.from_epsg(32649)
GRID = Grid(UTM, Affine(10, 0, 500_000.0, 0, -10, 3_000_000.0), (400, 500))
FIELDS = ("plot_ids", "offsets", "rows", "cols", "weights", "area_px")


def random_plots(n: int, seed: int = 5) -> gpd.GeoDataFrame:
    """``n`` rotated rectangles of 0.05–2 ha on GRID (some over its edge), in EPSG:4326."""
    rng = np.random.default_rng(seed)
    x0, y0 = GRID.transform * (0, 0)
    centres = np.column_stack([x0 + rng.uniform(-200, 5_200, n), y0 - rng.uniform(-200, 4_200, n)])
    sides = np.sqrt(rng.uniform(500, 20_000, n))
    geoms = [
        shapely.affinity.rotate(
            shapely.box(cx - s / 2, cy - s / 3, cx + s / 2, cy + s / 3), angle, origin="center"
        )
        for (cx, cy), s, angle in zip(centres, sides, rng.uniform(0, 90, n), strict=True)
    ]
    frame = gpd.GeoDataFrame({"id": np.arange(1000, 1000 + n)}, geometry=geoms, crs=UTM)
    return frame.to_crs("EPSG:4326")


@pytest.fixture()
def split_small(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Split from 10 plots on; the list of child commands started."""
    monkeypatch.setattr(_coverage, "SPLIT_MIN_PLOTS", 10)
    started: list[list[str]] = []
    popen = subprocess.Popen

    def recording(command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(command)
        return popen(command, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(_coverage.subprocess, "Popen", recording)
    return started


def test_two_processes_give_the_one_process_coverage(split_small):
    plots = random_plots(300)
    one = compute_coverage(plots, GRID, id_column="id")
    two = compute_coverage(plots, GRID, id_column="id", processes=2)
    assert split_small == [[sys.executable, "-m", "ingest._cells"]]
    assert one.n_cells > 20_000  # the plots are real work, not a handful of pixels
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(two, field), getattr(one, field), err_msg=field)


def test_below_the_threshold_or_on_one_cpu_nothing_is_started(split_small, monkeypatch):
    plots = random_plots(40)
    compute_coverage(plots, GRID, id_column="id", processes=1)
    with monkeypatch.context() as one_cpu:
        one_cpu.setattr(_coverage.os, "sched_getaffinity", lambda pid: {0})
        compute_coverage(plots, GRID, id_column="id", processes=2)
    monkeypatch.setattr(_coverage, "SPLIT_MIN_PLOTS", 41)
    compute_coverage(plots, GRID, id_column="id", processes=2)
    assert split_small == []
    monkeypatch.setattr(_coverage, "SPLIT_MIN_PLOTS", 10)  # the control: now it splits
    compute_coverage(plots, GRID, id_column="id", processes=2)
    assert len(split_small) == 1


def test_a_child_that_cannot_start_leaves_the_work_here(split_small, monkeypatch, caplog):
    plots = random_plots(60)
    one = compute_coverage(plots, GRID, id_column="id")
    monkeypatch.setattr(_coverage.sys, "executable", "/nonexistent/python")
    with caplog.at_level(logging.WARNING, logger=_coverage.__name__):
        two = compute_coverage(plots, GRID, id_column="id", processes=2)
    assert "second process failed" in caplog.text
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(two, field), getattr(one, field), err_msg=field)


def test_a_child_that_dies_leaves_the_work_here(split_small, monkeypatch, caplog):
    plots = random_plots(60)
    one = compute_coverage(plots, GRID, id_column="id")
    # A module that is not the cells server: the child exits with an error, writing nothing.
    monkeypatch.setattr(_coverage, "_CHILD_MODULE", "ingest._cells_missing")
    with caplog.at_level(logging.WARNING, logger=_coverage.__name__):
        two = compute_coverage(plots, GRID, id_column="id", processes=2)
    assert "second process failed" in caplog.text
    np.testing.assert_array_equal(two.weights, one.weights)


def test_a_crs_mismatch_in_the_child_is_raised_here(split_small, monkeypatch):
    plots = random_plots(60)
    real = _coverage._Child

    class Mismatched(real):  # the child's half sees the plots in another CRS
        def __init__(self, args):
            super().__init__((*args[:4], CRS.from_epsg(4326).to_wkt()))

    monkeypatch.setattr(_coverage, "_Child", Mismatched)
    with pytest.raises(CrsMismatch):
        compute_coverage(plots, GRID, id_column="id", processes=2)


def test_the_cells_server_answers_as_cells_of():
    plots = random_plots(30).to_crs(UTM)
    wkbs = list(shapely.to_wkb(plots.geometry.array))
    args = (wkbs, GRID.bounds, GRID.shape, UTM.to_wkt())
    done = subprocess.run(
        [sys.executable, "-m", "ingest._cells"],
        input=pickle.dumps(args),
        capture_output=True,
        check=True,
    )
    status, (counts, cells, fractions) = pickle.loads(done.stdout)
    expected = cells_of(*args)
    assert status == "ok"
    assert counts.sum() == len(cells) == len(expected[1]) > 0
    for got, want in zip((counts, cells, fractions), expected, strict=True):
        np.testing.assert_array_equal(got, want)
