"""Reading bands from the two local layouts: a multi-band file with a band map, a file per band."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from ingest.errors import BandNotInFile, SourceMissing, UnknownBand
from ingest.satellite import (
    SEN2R_BOA_BANDS,
    Grid,
    decide_radiometry,
    ndmi,
    ndvi,
    read_band_files,
    read_multiband,
)

from .conftest import FTW, boa_path

ASSUMED_ZERO = decide_radiometry(None)
FTW_T1 = {"B04": 1, "B03": 2, "B02": 3, "B08": 4}
FTW_T2 = {"B04": 5, "B03": 6, "B02": 7, "B08": 8}


def test_sen2r_stack_reads_as_named_reflectance_with_crs(clip):
    bands = read_multiband(boa_path(clip.date), SEN2R_BOA_BANDS, radiometry=ASSUMED_ZERO)
    assert list(bands.bands) == [
        "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
        "nir", "nir09", "swir16", "swir22",
    ]  # fmt: skip
    assert bands.grid.crs.to_epsg() == 32632 and bands.grid.shape == (42, 24)
    assert bands.grid.transform == Affine(10, 0, 580560, 0, -10, 5102120)
    for s2_id, dn in clip.dn.items():
        data = bands[s2_id]
        assert data.dtype == np.float32 and data.rio.crs.to_epsg() == 32632
        np.testing.assert_allclose(data.values, dn / 10000, rtol=1e-6)
    assert bands["B04"] is bands["red"]
    assert Grid.of(bands["swir16"]) == bands.grid


def test_nodata_and_no_data_dn_become_nan(tmp_path, clip2017):
    path = tmp_path / "holes.tif"
    with rasterio.open(boa_path("20170703")) as src:
        profile, data = src.profile, src.read()
    data[3, 0, 0] = 65535  # the file's nodata
    data[3, 0, 1] = 0  # L2A NO_DATA
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    red = read_multiband(path, SEN2R_BOA_BANDS, radiometry=ASSUMED_ZERO, bands=["red"])["red"]
    assert np.isnan(red.values[0, :2]).all()
    assert np.isfinite(red.values).sum() == red.size - 2


def test_two_date_ftw_stack_reads_each_date_by_its_band_map():
    t1 = read_multiband(FTW, FTW_T1, radiometry=ASSUMED_ZERO)
    t2 = read_multiband(FTW, FTW_T2, radiometry=ASSUMED_ZERO, bands=["red", "nir"])
    assert set(t1.bands) == {"red", "green", "blue", "nir"} and set(t2.bands) == {"red", "nir"}
    assert t1.grid.crs.to_epsg() == 32633 and t1.grid.shape == (379, 578)
    # NDVI means recorded in the fixture's PROVENANCE.md.
    assert float(ndvi(t1["red"], t1["nir"]).mean()) == pytest.approx(0.496, abs=0.002)
    assert float(ndvi(t2["red"], t2["nir"]).mean()) == pytest.approx(0.544, abs=0.002)


def test_band_map_mistakes_are_named(tmp_path):
    with pytest.raises(UnknownBand):
        read_multiband(FTW, {"B99": 1}, radiometry=ASSUMED_ZERO)
    with pytest.raises(UnknownBand):
        read_multiband(FTW, FTW_T1, radiometry=ASSUMED_ZERO, bands=["swir16"])
    with pytest.raises(BandNotInFile) as err:
        read_multiband(FTW, {"red": 9}, radiometry=ASSUMED_ZERO)
    assert "8" in err.value.message("en")
    with pytest.raises(SourceMissing):
        read_multiband(tmp_path / "nope.tif", FTW_T1, radiometry=ASSUMED_ZERO)


def _write(path, data, transform, crs="EPSG:32632"):
    profile = {
        "driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
        "dtype": "uint16", "crs": crs, "transform": transform,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_one_file_per_band_aligns_a_20m_band_to_the_10m_grid(tmp_path, clip2017):
    t10 = Affine(10, 0, 580560, 0, -10, 5102120)
    t20 = Affine(20, 0, 580560, 0, -20, 5102120)
    swir20 = clip2017.dn["B11"][::2, ::2]
    paths = {
        "B04": _write(tmp_path / "B04.tif", clip2017.dn["B04"], t10),
        "B08": _write(tmp_path / "B08.tif", clip2017.dn["B08"], t10),
        "B11": _write(tmp_path / "B11.tif", swir20, t20),
    }
    bands = read_band_files(paths, radiometry=ASSUMED_ZERO)
    assert bands.grid.transform == t10 and bands.grid.shape == (42, 24)
    np.testing.assert_allclose(bands["red"].values, clip2017.dn["B04"] / 10000, rtol=1e-6)
    expected = np.kron(swir20 / 10000, np.ones((2, 2)))
    np.testing.assert_allclose(bands["swir16"].values, expected, rtol=1e-6)
    assert ndmi(bands["nir"], bands["swir16"]).shape == (42, 24)

    grid20 = Grid(bands.grid.crs, t20, (21, 12))
    coarse = read_band_files(paths, radiometry=ASSUMED_ZERO, grid=grid20)
    red20 = (clip2017.dn["B04"] / 10000).reshape(21, 2, 12, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(coarse["red"].values, red20, rtol=1e-5)
