"""The index catalogue in models.indices: complete, consistent with spyndex, storable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import spyndex

from ingest.satellite.cog import TRUE_COLOUR_MAX, encode_true_colour
from models.errors import NotFound
from models.i18n import LANGUAGES, catalogue
from models.indices import BANDS, INDICES, Platform, get_index, indices_for
from models.indices.scaling import Scaling

NAMES = sorted(INDICES)


@pytest.mark.parametrize("name", NAMES)
def test_every_index_declares_bands_resolution_range_colormap_legend_and_scaling(name):
    spec = INDICES[name]
    assert spec.bands and all(b in BANDS for b in spec.bands)
    assert spec.resolution_m in (10, 20)
    low, high = spec.valid_range
    assert low < high
    rep_low, rep_high = spec.scaling.representable
    assert rep_low <= low and high <= rep_high
    assert len(spec.colormap.stops) >= 2
    assert spec.scaling.dtype == "int16" and spec.scaling.nodata == -32768


@pytest.mark.parametrize("name", NAMES)
def test_every_legend_speaks_both_languages(name):
    spec = INDICES[name]
    for key in (spec.label_key, spec.legend.low_key, spec.legend.high_key, "legend_nodata"):
        assert set(catalogue()[key]) == set(LANGUAGES), key
    zh, en = spec.legend.as_dict("zh-CN"), spec.legend.as_dict("en")
    assert zh["title"] != en["title"]
    assert any(n.upper() in en["title"].upper() for n in (spec.name, *spec.aliases))
    assert [s["value"] for s in zh["stops"]] == [s.value for s in spec.colormap.stops]
    assert zh["stops"][0]["label"] and zh["stops"][-1]["label"]
    assert en["nodata"]["color"] == spec.colormap.nodata


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_bands_are_exactly_the_bands_of_spyndex_formula(name):
    entry = spyndex.indices[name]
    symbols = {s for s in entry.bands if s not in spyndex.constants}
    ours = {BANDS[b].spyndex for b in INDICES[name].bands}
    assert ours == symbols


def test_band_table_matches_spyndex_sentinel2():
    for b in BANDS.values():
        s2 = spyndex.bands[b.spyndex].sentinel2a
        assert s2.band == b.s2_id.replace("B0", "B"), b.name
        assert s2.wavelength == pytest.approx(b.wavelength_nm), b.name


def test_ndre_is_an_alias_of_spyndex_ndrei():
    assert "NDRE" not in spyndex.indices  # the trap: spyndex only knows NDREI
    assert get_index("NDRE") is get_index("ndrei") is INDICES["NDREI"]
    assert get_index("exg") is INDICES["ExG"]


def test_an_unknown_index_is_not_found():
    with pytest.raises(NotFound) as err:
        get_index("NDXI")
    assert "NDXI" in err.value.message("en")


def test_resolution_is_that_of_the_coarsest_band():
    assert get_index("NDVI").resolution_m == 10
    assert get_index("NDRE").resolution_m == 20
    assert get_index("NDMI").resolution_m == 20
    assert get_index("NDMI").s2_bands == ("B08", "B11")


def test_platforms_list_the_indices_of_the_product():
    assert [s.name for s in indices_for(Platform.SENTINEL2)] == [
        "NDVI", "EVI", "SAVI", "NDREI", "GNDVI", "NDMI",
    ]  # fmt: skip
    assert [s.name for s in indices_for(Platform.DRONE_RGB)] == ["VARI", "ExG", "GLI"]
    assert [s.name for s in indices_for(Platform.DRONE_MULTISPECTRAL)] == ["NDVI", "NDREI"]


@pytest.mark.parametrize("name", NAMES)
def test_int16_storage_round_trips_within_half_a_step(name):
    spec = INDICES[name]
    low, high = spec.valid_range
    values = np.random.default_rng(7).uniform(low, high, 10_000).astype(np.float32)
    values[:3] = [low, high, np.nan]
    stored = spec.scaling.encode(values)
    assert stored.dtype == np.int16
    back = spec.scaling.decode(stored)
    assert back.dtype == np.float32
    ok = ~np.isnan(values)
    error = np.abs(back[ok].astype(np.float64) - values[ok])
    assert error.max() <= spec.scaling.scale / 2 + 1e-6
    assert stored[2] == spec.scaling.nodata and np.isnan(back[2])


def test_values_storage_cannot_hold_become_nodata_not_wrapped():
    scaling = INDICES["NDVI"].scaling
    stored = scaling.encode(np.array([4.0, -4.0, np.inf, 3.2767], dtype=np.float32))
    assert stored.tolist() == [-32768, -32768, -32768, 32767]


def _edge_values() -> np.ndarray:
    """Random values, exact half steps, the storage limits, NaN, ±inf and −0, as float32."""
    rng = np.random.default_rng(11)
    halves = (np.arange(-40_000, 40_000, 37) + 0.5) * 1e-4
    special = [np.nan, np.inf, -np.inf, -0.0, 0.0, 3.2767, -3.2767, 3.27675, -3.2768, 0.30001]
    return np.concatenate([rng.uniform(-4, 4, 50_000), halves, special]).astype(np.float32)


@pytest.mark.parametrize(
    "scaling",
    [INDICES["NDVI"].scaling, Scaling(dtype="uint8", scale=0.01, offset=-1.0, nodata=255)],
)
def test_encoding_equals_the_plain_formula_for_every_value(scaling):
    values = _edge_values()
    data = values.astype(np.float64)
    steps = np.rint((data - scaling.offset) / scaling.scale)
    low, high = np.iinfo(np.dtype(scaling.dtype)).min, np.iinfo(np.dtype(scaling.dtype)).max
    low, high = low + (scaling.nodata == low), high - (scaling.nodata == high)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(steps) & (steps >= low) & (steps <= high)
    expected = np.where(valid, steps, scaling.nodata).astype(scaling.dtype)
    got = scaling.encode(values)
    assert got.dtype == np.dtype(scaling.dtype)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(values[-10]) and got[-10] == scaling.nodata


def test_true_colour_equals_the_plain_formula_for_every_value():
    rng = np.random.default_rng(12)
    edge = _edge_values() / 10
    red, green, blue = (rng.permutation(edge).reshape(-1, 11) for _ in range(3))
    stack = np.stack([red, green, blue]).astype(np.float64)
    scaled = 1 + np.rint(np.clip(stack, 0.0, TRUE_COLOUR_MAX) / TRUE_COLOUR_MAX * 254)
    scaled[:, ~np.isfinite(stack).all(axis=0)] = 0
    got = encode_true_colour(red, green, blue)
    assert got.dtype == np.uint8 and got.shape == stack.shape
    np.testing.assert_array_equal(got, scaled.astype(np.uint8))
    assert {0, 1, 255} <= set(np.unique(got).tolist())


def test_ndvi_ramp_runs_brown_to_green_with_a_distinct_nodata_colour():
    cmap = get_index("NDVI").colormap
    r, g, b, _ = cmap.rgba(-1.0)
    assert r > g > b  # brown
    r, g, b, _ = cmap.rgba(1.0)
    assert g > r and g > b  # green
    r, g, b, _ = cmap.rgba(0.3)
    assert r > 200 and g > 200  # yellow in the middle
    lut = cmap.lut()
    assert sorted(lut) == list(range(256))
    assert lut[0] == cmap.nodata_rgba
    assert all(colour != cmap.nodata_rgba for i, colour in lut.items() if i)
    assert lut[1] == cmap.stops[0].rgba and lut[255] == cmap.stops[-1].rgba
    assert cmap.rgba(float("nan")) == cmap.nodata_rgba


def test_models_catalogue_imports_neither_ingest_nor_spyndex():
    code = (
        "import sys, models.indices; "
        "bad = [m for m in sys.modules if m.startswith(('ingest', 'spyndex'))]; "
        "sys.exit(repr(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
