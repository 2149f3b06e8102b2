"""Generated demo scenes: found by the local ingest, seasonal per-plot NDVI, clouds, bytes.

The county and one year of scenes are generated once per module. The ingest test loads a
subset of the county's plots (those whose 10 m pixels no other plot touches, and those the
first cloud covers or spares) and compares what the ingest stored with the generator's own
seasonal function; which pixels a plot touches and which are cloudy is worked out here from
the plots file and the written SCL, not taken from the generator.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import MergeAlg
from rasterio.features import rasterize
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

from ingest.demo import generate_demo
from ingest.demo_scenes import (
    SCENE_CRS,
    cloudy_dates,
    generate_demo_scenes,
    intended_ndvi,
    scene_dates,
    tea_ndvi,
)
from ingest.plots import import_plots
from ingest.satellite._inputs import find_scenes
from ingest.satellite.ingest import IngestOptions, ingest_local
from ingest.satellite.metadata import MTD_BAND_IDS, read_mtd

SEED = 7
COUNT = 12
BANDS = {"B02", "B03", "B04", "B05", "B08", "B11"}
#: SCL classes the ingest masks that the generator draws: shadow, clouds, cirrus.
CLOUDY_SCL = (3, 8, 9, 10)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The demo plots file and the generated scene folders."""
    folder = tmp_path_factory.mktemp("demo-scenes")
    plots = generate_demo(folder / "demo", seed=SEED).plots
    return plots, generate_demo_scenes(folder / "scenes", plots=plots, count=COUNT, seed=SEED)


def digests(folders: list[Path]) -> dict[str, str]:
    return {
        f"{path.parent.name}/{path.name}": hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.iterdir())
    }


def pixels(shape: BaseGeometry, transform: Affine) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the 10 m pixels ``shape`` touches (rasterised in its own window)."""
    xmin, ymin, xmax, ymax = shape.bounds
    col0, row0 = (int(v) - 1 for v in ~transform * (xmin, ymax))
    col1, row1 = (int(v) + 2 for v in ~transform * (xmax, ymin))
    window = transform * Affine.translation(col0, row0)
    out = rasterize([(shape, 1)], (row1 - row0, col1 - col0), transform=window, all_touched=True)
    rows, cols = np.nonzero(out)
    return rows + row0, cols + col0


def test_find_scenes_reads_every_generated_scene_with_its_date(county):
    _, folders = county
    scenes = find_scenes(folders)
    days = [s.acquired_at.date() for s in scenes]
    assert days == scene_dates(COUNT, SEED) and len(set(days)) == COUNT
    assert all(d.year == 2025 for d in days) and days == sorted(days)
    for scene in scenes:
        assert "GENERATED" in scene.scene_key and f"{scene.acquired_at:%Y%m%d}" in scene.scene_key
        assert set(scene.band_files) == BANDS and scene.metadata is not None
        meta = read_mtd(scene.metadata)
        assert meta.baseline == (4, 0) and meta.quantification == 10000
        assert dict(meta.boa_offsets) == dict.fromkeys(MTD_BAND_IDS, -1000.0)
        with rasterio.open(scene.band_files["B04"]) as red, rasterio.open(scene.scl) as scl:
            assert red.crs.to_epsg() == 32649 and red.res == (10, 10)
            assert scl.res == (20, 20) and red.bounds == scl.bounds
            assert red.bounds.left % 20 == 0 and red.bounds.top % 20 == 0
            assert "generated" in red.tags()["GENERATED"]


def test_generating_twice_gives_identical_bytes(county, tmp_path):
    plots, folders = county
    again = generate_demo_scenes(tmp_path, plots=plots, count=COUNT, seed=SEED)
    assert [f.name for f in again] == [f.name for f in folders]
    assert digests(again) == digests(folders)
    assert len(digests(folders)) == COUNT * 8  # six bands, SCL, MTD_MSIL2A.xml


def test_ingest_gives_each_plot_its_seasonal_ndvi_and_flags_the_clouds(
    db: Engine, county, tmp_path
):
    plots_path, folders = county
    plots = gpd.read_file(plots_path).to_crs(SCENE_CRS)
    scenes = find_scenes(folders)
    with rasterio.open(scenes[0].band_files["B04"]) as ds:
        grid = {"out_shape": ds.shape, "transform": ds.transform, "all_touched": True}
    # Every fourth plot is enough to choose from (rasterising each plot takes a while).
    sample = plots.iloc[::4]
    touched = {
        code: pixels(shape, grid["transform"])
        for code, shape in zip(sample["code"], sample.geometry, strict=True)
    }
    shared = rasterize(((s, 1) for s in plots.geometry), merge_alg=MergeAlg.add, **grid)
    isolated = [code for code, m in touched.items() if (shared[m] == 1).all()]
    cloudy = {}
    for scene in scenes:
        with rasterio.open(scene.scl) as ds:
            scl = np.kron(ds.read(1), np.ones((2, 2), dtype=np.uint8))
        if np.isin(scl, CLOUDY_SCL).any():
            cloudy[scene.acquired_at.date()] = np.isin(scl, CLOUDY_SCL)
    assert sorted(cloudy) == cloudy_dates(scene_dates(COUNT, SEED), SEED) and len(cloudy) == 2
    day, masked = next(iter(cloudy.items()))
    covered = [code for code, m in touched.items() if masked[m].all()]
    spared = [code for code, m in touched.items() if not masked[m].any()]
    assert len(covered) > 20
    chosen = sorted(set(isolated[:30] + covered[:20] + spared[:20]))
    subset = tmp_path / "subset.gpkg"
    plots[plots["code"].isin(chosen)].to_file(subset, driver="GPKG", engine="pyogrio")
    import_plots(engine=db, path=subset)

    _, results = ingest_local(
        engine=db, paths=folders, store=tmp_path / "rasters", options=IngestOptions(lang="en")
    )

    assert all(r.radiometry["offset"] == -1000 and not r.warnings for r in results)
    assert all(r.radiometry["plausibility"]["verdict"] == "plausible" for r in results)
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, (s.acquired_at AT TIME ZONE 'UTC')::date AS day, s.mean,"
                " s.flagged, s.flag_reason FROM plot_index_stats s"
                " JOIN plots p ON p.id = s.plot_id WHERE s.index = 'NDVI'"
            )
        ).all()
    stats = {(r.code, r.day): r for r in rows}
    assert len(stats) == len(chosen) * COUNT
    for code in isolated[:30]:
        for when in scene_dates(COUNT, SEED):
            row = stats[code, when]
            if when not in cloudy:
                assert not row.flagged and row.mean == pytest.approx(
                    intended_ndvi(code, when, SEED), abs=0.01
                )
        series = {when: stats[code, when].mean for when in scene_dates(COUNT, SEED)}
        spring = max(m for w, m in series.items() if w.month in (4, 5))
        winter = max(m for w, m in series.items() if w.month in (1, 2, 12))
        assert spring > winter + 0.15
    # Plots other plots touch mix their neighbours' offsets (±0.03) into shared pixels.
    unflagged = [r for r in rows if not r.flagged]
    assert all(abs(r.mean - intended_ndvi(r.code, r.day, SEED)) < 0.03 for r in unflagged)
    assert all(stats[c, day].flag_reason == "no_valid_pixels" for c in covered[:20])
    assert not any(stats[c, day].flagged for c in spared[:20])


def test_tea_curve_has_the_hunan_seasons():
    winter = max(tea_ndvi(date(2025, m, 15)) for m in (1, 2, 12))
    spring = max(tea_ndvi(date(2025, m, d)) for m, d in ((4, 25), (5, 1), (5, 5)))
    assert 0.45 <= winter <= 0.55 and 0.75 <= spring <= 0.8
    assert tea_ndvi(date(2025, 5, 20)) < spring - 0.08  # after the spring plucking
    assert tea_ndvi(date(2025, 11, 20)) < tea_ndvi(date(2025, 9, 20))  # autumn decline
