"""SCL masks with reasons, dilation and 20 m → 10 m alignment, on real clips and synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from rasterio.warp import Resampling, reproject

from ingest.satellite import (
    SEN2R_BOA_BANDS,
    Grid,
    MaskReason,
    SatelliteSettings,
    align_scl,
    decide_radiometry,
    dilate,
    read_multiband,
    read_scl,
    scl_mask,
)
from ingest.satellite._grid import nest_factor, to_dataarray

from .conftest import boa_path, scl_path

R = MaskReason


def test_every_scl_class_gets_its_reason():
    classes = np.arange(13, dtype=np.uint8)
    reasons = scl_mask(classes).reason.tolist()
    assert reasons == [
        R.NODATA, R.DEFECTIVE, R.DARK_OR_TERRAIN_SHADOW, R.CLOUD_SHADOW,
        R.CLEAR, R.CLEAR, R.CLEAR, R.CLEAR,  # vegetation, not vegetated, water, unclassified
        R.CLOUD, R.CLOUD, R.CIRRUS, R.SNOW,
        R.NODATA,  # not an SCL class
    ]  # fmt: skip
    assert scl_mask(classes, mask_unclassified=True).reason[7] == R.UNCLASSIFIED


# Pixel counts of the 20 m SCL, from the fixture's PROVENANCE.md.
COUNTS_2017 = {2: 30, 4: 101, 5: 13, 6: 11, 7: 64, 8: 30, 9: 3}
COUNTS_2019 = {2: 3, 4: 134, 5: 3, 6: 65, 7: 47}


@pytest.mark.parametrize("date, counts", [("20170703", COUNTS_2017), ("20190723", COUNTS_2019)])
def test_real_scl_masks_shadow_and_cloud_but_not_vegetation_water_or_class_7(date, counts):
    scl = read_scl(scl_path(date))
    mask = scl_mask(scl.values)
    clear = counts[4] + counts[5] + counts[6] + counts[7]
    expected = {R.CLEAR: clear, R.DARK_OR_TERRAIN_SHADOW: counts[2]}
    if 8 in counts:
        expected[R.CLOUD] = counts[8] + counts[9]
    assert mask.counts() == expected
    assert mask.clear_fraction == pytest.approx(clear / scl.size)
    strict = scl_mask(scl.values, mask_unclassified=True)
    assert strict.counts()[R.UNCLASSIFIED] == counts[7]


def _chebyshev_oracle(mask, n):
    """Brute force: True where some True pixel lies within n rows and n columns."""
    rows, cols = np.nonzero(mask)
    out = np.zeros_like(mask)
    for i in range(mask.shape[0]):
        for j in range(mask.shape[1]):
            out[i, j] = bool(np.any((np.abs(rows - i) <= n) & (np.abs(cols - j) <= n)))
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_dilation_grows_a_cloud_by_exactly_n_pixels(n):
    scl = np.full((15, 15), 4, np.uint8)
    scl[7, 7] = 9
    mask = scl_mask(scl, dilation_px=n)
    rows, cols = np.nonzero(mask.masked)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (7 - n, 7 + n, 7 - n, 7 + n)
    assert mask.masked.sum() == (2 * n + 1) ** 2
    side = 2 * n + 1
    assert mask.counts() == {R.CLEAR: 225 - side**2, R.CLOUD: 1, R.DILATED: side**2 - 1}


def test_dilation_matches_a_brute_force_oracle_at_edges_and_corners():
    rng = np.random.default_rng(3)
    mask = rng.random((12, 17)) > 0.93
    mask[0, 0] = mask[11, 16] = True
    for n in (0, 1, 2, 4):
        np.testing.assert_array_equal(dilate(mask, n), _chebyshev_oracle(mask, n))


def test_dilation_grows_cloud_shadow_and_cirrus_only_and_keeps_existing_reasons():
    scl = np.full((7, 9), 4, np.uint8)
    scl[1, 1] = 3  # cloud shadow: grows
    scl[5, 7] = 10  # cirrus: grows
    scl[3, 4] = 2  # terrain shadow: does not grow
    scl[1, 2] = 6  # water next to the shadow: becomes dilated
    scl[0, 0] = 11  # snow next to the shadow: stays snow
    mask = scl_mask(scl, dilation_px=1)
    assert mask.reason[1, 2] == R.DILATED and mask.reason[0, 0] == R.SNOW
    assert mask.reason[3, 3] == R.CLEAR and mask.reason[3, 4] == R.DARK_OR_TERRAIN_SHADOW
    assert mask.reason[4, 6] == R.DILATED and mask.reason[6, 8] == R.DILATED
    # The 8 neighbours of each, less the snow pixel (the water pixel does become dilated).
    assert mask.counts()[R.DILATED] == 8 + 8 - 1


def test_settings_default_and_environment(monkeypatch):
    settings = SatelliteSettings()
    assert (settings.mask_scl_7, settings.mask_dilation_px, settings.min_clear_fraction) == (
        False, 0, 0.5,
    )  # fmt: skip
    monkeypatch.setenv("SKYGROUND_INGEST_MASK_SCL_7", "true")
    monkeypatch.setenv("SKYGROUND_INGEST_MASK_DILATION_PX", "2")
    settings = SatelliteSettings()
    assert settings.mask_scl_7 and settings.mask_dilation_px == 2


def _band10(date):
    bands = read_multiband(
        boa_path(date), SEN2R_BOA_BANDS, radiometry=decide_radiometry(None), bands=["red"]
    )
    return bands["red"]


def test_20m_scl_aligns_to_the_10m_band_grid_by_exact_replication(clip2017):
    scl, red = read_scl(scl_path("20170703")), _band10("20170703")
    assert scl.shape == (21, 12) and red.shape == (42, 24)
    assert nest_factor(Grid.of(scl), Grid.of(red)) == 2
    aligned = align_scl(scl, red)
    assert aligned.shape == (42, 24) and aligned.dtype == np.uint8
    assert Grid.of(aligned) == Grid.of(red)
    assert Grid.of(aligned).bounds == Grid.of(scl).bounds == (580560, 5101700, 580800, 5102120)
    np.testing.assert_array_equal(aligned.values, clip2017.scl10)
    assert set(np.unique(aligned.values)) == {2, 4, 5, 6, 7, 8, 9}
    # GDAL's own nearest neighbour agrees with the replication.
    gdal = np.zeros((42, 24), np.uint8)
    reproject(
        scl.values, gdal, src_transform=Grid.of(scl).transform, src_crs=scl.rio.crs,
        dst_transform=Grid.of(red).transform, dst_crs=red.rio.crs, resampling=Resampling.nearest,
    )  # fmt: skip
    np.testing.assert_array_equal(aligned.values, gdal)


def test_masking_the_aligned_scl_counts_10m_pixels(clip2017):
    aligned = align_scl(read_scl(scl_path("20170703")), _band10("20170703"))
    mask = scl_mask(aligned.values)
    assert mask.counts()[R.CLOUD] == (30 + 3) * 4
    red = _band10("20170703")
    masked = mask.apply(red)
    assert isinstance(masked, xr.DataArray) and masked.rio.crs == red.rio.crs
    assert np.isnan(masked.values[mask.masked]).all()
    assert np.isfinite(masked.values[~mask.masked]).all()


def test_a_grid_that_does_not_nest_uses_nearest_reprojection():
    scl = read_scl(scl_path("20170703"))
    src = Grid.of(scl)
    # A 10 m grid shifted by 5 m: pixel centres never sit on a 20 m edge, so nearest is
    # well defined, but the grids do not nest.
    t = src.transform
    dst = Grid(src.crs, Affine(10, 0, t.c + 5, 0, -10, t.f - 5), (40, 22))
    assert nest_factor(src, dst) is None
    like = to_dataarray(np.zeros(dst.shape, np.float32), dst, name="like")
    aligned = align_scl(scl, like).values
    rows = ((np.arange(40) + 0.5) * 10 + 5) // 20
    cols = ((np.arange(22) + 0.5) * 10 + 5) // 20
    expected = scl.values[rows.astype(int)[:, None], cols.astype(int)[None, :]]
    np.testing.assert_array_equal(aligned, expected)
