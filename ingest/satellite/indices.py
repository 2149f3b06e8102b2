"""Evaluate catalogue indices on reflectance bands, with spyndex's formulas and constants.

Each index of :mod:`models.indices` is computed from the formula spyndex (Awesome Spectral
Indices) gives under its name, compiled through an AST allow-list (``_formula``) rather than
``eval``: spyndex's symbols (``N``, ``R``, ``RE1`` …) are bound to our bands (``nir``,
``red``, ``rededge1`` …) and its constants (EVI's ``g``, ``C1``, ``C2``, ``L``) to
``spyndex.constants`` defaults unless the catalogue replaces one (SAVI's ``L``).

Inputs are float reflectance (0–1, NaN for nodata or masked pixels): integer DN are refused,
since index maths on uint16 wraps around and EVI/SAVI constants assume 0–1. Results are
float32, NaN where an input is NaN, a denominator is 0 or the value leaves the index's valid
range. xarray inputs keep their coordinates and CRS (rioxarray); numpy inputs give numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import rioxarray  # noqa: F401  (registers the .rio accessor)
import spyndex
import xarray as xr

from ingest.errors import BandGridMismatch, MissingBands, ReflectanceExpected
from ingest.satellite._formula import Formula, compile_formula
from models.indices import BANDS, IndexSpec, get_index

__all__ = [
    "Array",
    "compute",
    "constants_of",
    "evi",
    "exg",
    "formula_of",
    "gli",
    "gndvi",
    "ndmi",
    "ndre",
    "ndrei",
    "ndvi",
    "needed_bands",
    "savi",
    "symbols_of",
    "vari",
]

Array = TypeVar("Array", xr.DataArray, npt.NDArray[np.floating[Any]])

_BAND_OF_SYMBOL = {b.spyndex: b.name for b in BANDS.values()}


@cache
def formula_of(index: str) -> Formula:
    """spyndex's formula of ``index`` (or an alias), compiled through the allow-list."""
    spec = get_index(index)
    entry = spyndex.indices[spec.name]
    return compile_formula(str(entry.formula), frozenset(str(b) for b in entry.bands))


@cache
def symbols_of(index: str) -> dict[str, str]:
    """spyndex band symbol → our band name, for the bands ``index`` reads (``{"N": "nir"}``)."""
    spec = get_index(index)
    out = {}
    for symbol in formula_of(spec.name).names:
        if symbol in spyndex.constants:
            continue
        if symbol not in _BAND_OF_SYMBOL:
            raise MissingBands(index=spec.name, missing=symbol)
        out[symbol] = _BAND_OF_SYMBOL[symbol]
    return out


@cache
def constants_of(index: str) -> dict[str, float]:
    """Constants ``index`` uses: spyndex's defaults, replaced where the catalogue says."""
    spec = get_index(index)
    return {
        name: float(spec.constants.get(name, spyndex.constants[name].default))
        for name in sorted(formula_of(spec.name).names)
        if name in spyndex.constants
    }


def needed_bands(indices: Iterable[str]) -> tuple[str, ...]:
    """Our band names that ``indices`` need together, in spectral order."""
    wanted = {b for name in indices for b in get_index(name).bands}
    return tuple(name for name in BANDS if name in wanted)


def compute(index: str, bands: Mapping[str, Array], *, keep_out_of_range: bool = False) -> Array:
    """Evaluate ``index`` on reflectance bands.

    Args:
        index: catalogue name or alias (``NDVI``, ``NDRE`` …), any case.
        bands: our band name → float reflectance (0–1, NaN for nodata), all on one grid.
            Extra bands are ignored.
        keep_out_of_range: keep values outside the index's valid range instead of NaN.

    Returns:
        float32 index values (unitless), NaN where an input is NaN, a denominator is 0 or
        (unless kept) the value is outside the valid range. A DataArray with the first
        xarray input's coordinates and CRS when any input is one, else a numpy array.

    Raises:
        NotFound: no such index.
        MissingBands: a band the index needs is not given.
        ReflectanceExpected: a band holds integers (digital numbers) or booleans.
        BandGridMismatch: bands differ in shape, coordinates or CRS.
    """
    spec = get_index(index)
    missing = [b for b in spec.bands if b not in bands]
    if missing:
        raise MissingBands(index=spec.name, missing=", ".join(missing))
    arrays, template = _prepare(spec, {b: bands[b] for b in spec.bands})
    params: dict[str, Any] = {s: arrays[b] for s, b in symbols_of(spec.name).items()}
    params.update(constants_of(spec.name))
    result = np.asarray(formula_of(spec.name)(params), dtype=np.float32)
    low, high = spec.valid_range
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(result)
        if not keep_out_of_range:
            bad |= (result < low) | (result > high)
    result = np.where(bad, np.float32(np.nan), result)
    if template is None:
        return cast(Array, result)
    out = xr.DataArray(
        result,
        dims=template.dims,
        coords=template.coords,
        name=spec.name,
        attrs={"long_name": spec.name, "units": "1", "valid_range": list(spec.valid_range)},
    )
    if template.rio.crs is not None:
        out = out.rio.write_crs(template.rio.crs)
    return cast(Array, out.rio.write_nodata(np.nan, encoded=False))


def _prepare(
    spec: IndexSpec, bands: Mapping[str, Any]
) -> tuple[dict[str, npt.NDArray[np.float32]], xr.DataArray | None]:
    arrays: dict[str, npt.NDArray[np.float32]] = {}
    template: xr.DataArray | None = None
    for name, value in bands.items():
        data = np.asarray(value.values if isinstance(value, xr.DataArray) else value)
        if data.dtype.kind not in "f":
            raise ReflectanceExpected(index=spec.name, band=name, dtype=str(data.dtype))
        arrays[name] = data.astype(np.float32, copy=False)
        if isinstance(value, xr.DataArray):
            template = template if template is not None else value
            _same_grid(spec, template, value)
    shapes = {name: a.shape for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        raise BandGridMismatch(what=spec.name, detail=str(shapes))
    return arrays, template


def _same_grid(spec: IndexSpec, a: xr.DataArray, b: xr.DataArray) -> None:
    if a is b:
        return
    try:
        xr.align(a, b, join="exact")
    except ValueError as exc:
        raise BandGridMismatch(what=spec.name, detail=f"{a.name} / {b.name}: {exc}") from exc
    if a.rio.crs != b.rio.crs:
        raise BandGridMismatch(what=spec.name, detail=f"CRS {a.rio.crs} / {b.rio.crs}")


def ndvi(red: Array, nir: Array) -> Array:
    """NDVI = (N − R)/(N + R) of red (B04) and NIR (B08) reflectance; float32, NaN if invalid."""
    return compute("NDVI", {"red": red, "nir": nir})


def evi(blue: Array, red: Array, nir: Array) -> Array:
    """EVI with spyndex's constants (g 2.5, C1 6, C2 7.5, L 1); float32, NaN if invalid."""
    return compute("EVI", {"blue": blue, "red": red, "nir": nir})


def savi(red: Array, nir: Array) -> Array:
    """SAVI with L = 0.5 (Huete 1988); float32, NaN if invalid."""
    return compute("SAVI", {"red": red, "nir": nir})


def ndrei(rededge1: Array, nir: Array) -> Array:
    """NDREI (NDRE) = (N − RE1)/(N + RE1) with red edge 1 (B05, 20 m); float32."""
    return compute("NDREI", {"rededge1": rededge1, "nir": nir})


ndre = ndrei


def gndvi(green: Array, nir: Array) -> Array:
    """GNDVI = (N − G)/(N + G) of green (B03) and NIR (B08); float32, NaN if invalid."""
    return compute("GNDVI", {"green": green, "nir": nir})


def ndmi(nir: Array, swir16: Array) -> Array:
    """NDMI = (N − S1)/(N + S1) with SWIR 1.6 µm (B11, 20 m); float32, NaN if invalid."""
    return compute("NDMI", {"nir": nir, "swir16": swir16})


def vari(blue: Array, green: Array, red: Array) -> Array:
    """VARI = (G − R)/(G + R − B) for RGB imagery; float32, NaN if invalid."""
    return compute("VARI", {"blue": blue, "green": green, "red": red})


def exg(blue: Array, green: Array, red: Array) -> Array:
    """ExG = 2G − R − B for RGB imagery (reflectance 0–1, so −2…2); float32."""
    return compute("ExG", {"blue": blue, "green": green, "red": red})


def gli(blue: Array, green: Array, red: Array) -> Array:
    """GLI = (2G − R − B)/(2G + R + B) for RGB imagery; float32, NaN if invalid."""
    return compute("GLI", {"blue": blue, "green": green, "red": red})
