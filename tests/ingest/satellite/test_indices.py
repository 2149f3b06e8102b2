"""Index evaluation: spyndex's formulas on float32 reflectance, NaN where invalid, CRS kept."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import spyndex
import xarray as xr

from ingest.errors import BandGridMismatch, MissingBands, ReflectanceExpected
from ingest.satellite import compute, evi, ndre, ndrei, ndvi, needed_bands, savi
from ingest.satellite._grid import Grid, to_dataarray
from models.indices import BANDS, INDICES

# The constants the test feeds spyndex itself: its defaults, except SAVI's L (Huete 1988).
SAVI_L = 0.5


def _spyndex_params(name, bands):
    entry = spyndex.indices[name]
    params = {}
    for symbol in entry.bands:
        if symbol in spyndex.constants:
            value = spyndex.constants[symbol].default
            params[symbol] = SAVI_L if (name, symbol) == ("SAVI", "L") else value
        else:
            band = next(b for b in BANDS.values() if b.spyndex == symbol)
            params[symbol] = bands[band.name]
    return params


def _random_bands(seed, shape=(200, 200)):
    rng = np.random.default_rng(seed)
    return {b: rng.uniform(0.001, 0.9, shape).astype(np.float32) for b in BANDS}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_formula_matches_spyndex_on_random_reflectance(name):
    bands = _random_bands(seed=len(name))
    ours = compute(name, bands)
    theirs = np.asarray(spyndex.computeIndex(name, params=_spyndex_params(name, bands)))
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    low, high = INDICES[name].valid_range
    inside = np.isfinite(theirs) & (theirs >= low) & (theirs <= high)
    assert inside.mean() > 0.1  # enough values to compare
    np.testing.assert_allclose(ours[inside], theirs[inside], rtol=1e-6, atol=1e-7)
    assert np.isnan(ours[~inside]).all()


def test_savi_uses_l_one_half_and_evi_spyndex_constants():
    red, nir = np.float32([0.05]), np.float32([0.4])
    assert savi(red, nir)[0] == pytest.approx(1.5 * 0.35 / 0.95, rel=1e-6)
    blue = np.float32([0.03])
    expected = 2.5 * 0.35 / (0.4 + 6 * 0.05 - 7.5 * 0.03 + 1)
    assert evi(blue, red, nir)[0] == pytest.approx(expected, rel=1e-6)


def test_ndvi_is_nan_where_sum_is_zero():
    red = np.float32([0.0, 0.1])
    nir = np.float32([0.0, 0.3])
    result = ndvi(red, nir)
    assert np.isnan(result[0]) and result[1] == pytest.approx(0.5)


def test_evi_is_nan_where_its_denominator_is_zero():
    blue, red, nir = np.float32([0.4]), np.float32([0.25]), np.float32([0.5])
    assert (nir + 6.0 * red - 7.5 * blue + 1.0)[0] == 0  # the case under test
    assert np.isnan(evi(blue, red, nir)[0])


@pytest.mark.parametrize("name", sorted(INDICES))
def test_nan_input_gives_nan(name):
    bands = {b: np.float32([0.2, 0.3]) for b in BANDS}
    first = INDICES[name].bands[0]
    bands[first] = np.float32([np.nan, 0.3])
    result = compute(name, bands)
    assert np.isnan(result[0]) and not np.isnan(result[1])


def test_uint16_digital_numbers_are_refused_not_wrapped():
    red = np.array([3000], dtype=np.uint16)
    nir = np.array([2000], dtype=np.uint16)
    assert (nir - red)[0] == 64536  # what uint16 maths would have done
    with pytest.raises(ReflectanceExpected) as err:
        ndvi(red, nir.astype(np.float32) / 10000)
    assert "uint16" in err.value.message("en") and "red" in err.value.message("en")
    with pytest.raises(ReflectanceExpected):
        ndvi(red.astype(np.float32) / 10000, nir.astype(bool))


def test_values_outside_the_valid_range_are_nan_unless_kept():
    red, nir = np.float32([-0.05]), np.float32([0.02])  # negative reflectance: artefact
    assert np.isnan(ndvi(red, nir)[0])
    kept = compute("NDVI", {"red": red, "nir": nir}, keep_out_of_range=True)
    assert kept[0] == pytest.approx(0.07 / -0.03, rel=1e-5)


def test_a_missing_band_is_named():
    with pytest.raises(MissingBands) as err:
        compute("NDMI", {"nir": np.float32([0.3])})
    assert "swir16" in err.value.message("en")


def test_ndre_alias_computes_ndrei():
    re1, nir = np.float32([0.1, 0.2]), np.float32([0.4, 0.5])
    np.testing.assert_array_equal(compute("NDRE", {"rededge1": re1, "nir": nir}), ndrei(re1, nir))
    assert ndre is ndrei
    assert needed_bands(["NDRE", "NDVI"]) == ("red", "rededge1", "nir")


def _grid(crs="EPSG:32649", x0=600000.0):
    from affine import Affine
    from rasterio.crs import CRS

    return Grid(CRS.from_user_input(crs), Affine(10, 0, x0, 0, -10, 3150000), (3, 4))


def test_xarray_inputs_keep_coordinates_and_crs():
    grid = _grid()
    red = to_dataarray(np.full((3, 4), 0.05, np.float32), grid, name="red")
    nir = to_dataarray(np.full((3, 4), 0.45, np.float32), grid, name="nir")
    result = ndvi(red, nir)
    assert isinstance(result, xr.DataArray) and result.dtype == np.float32
    assert result.name == "NDVI"
    assert result.rio.crs.to_epsg() == 32649
    assert Grid.of(result) == grid
    xr.testing.assert_equal(result.x, red.x)
    np.testing.assert_allclose(result.values, 0.8, rtol=1e-6)


def test_bands_on_different_grids_are_refused():
    red = to_dataarray(np.full((3, 4), 0.05, np.float32), _grid(), name="red")
    shifted = to_dataarray(np.full((3, 4), 0.4, np.float32), _grid(x0=600010.0), name="nir")
    with pytest.raises(BandGridMismatch):
        ndvi(red, shifted)
    other_crs = to_dataarray(np.full((3, 4), 0.4, np.float32), _grid("EPSG:32650"), name="nir")
    with pytest.raises(BandGridMismatch):
        ndvi(red, other_crs)
    with pytest.raises(BandGridMismatch):
        ndvi(np.float32([0.1, 0.2]), np.float32([0.3]))


def test_evaluation_never_calls_eval(monkeypatch):
    def no_eval(*args, **kwargs):
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", no_eval)
    bands = _random_bands(seed=1, shape=(4, 4))
    for name in INDICES:
        compute(name, bands)
