"""Read Sentinel-2 bands from local GeoTIFFs into named float32 reflectance arrays.

Two layouts: one multi-band file with a band map (sen2r's BOA stack, FTW's two-date stack)
and one file per band (``B04.tif``, ``B08.tif`` …). Both open with ``masked=True``, turn DN
into reflectance with the scene's :class:`~ingest.satellite.radiometry.Radiometry` (offset
applied exactly once, DN 0 and 65535 and the file's nodata → NaN) and return a
:class:`BandSet` of (y, x) DataArrays named by our band names, each carrying the file's CRS
and transform. Pure reading: no masking, no writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import rasterio
import xarray as xr
from rasterio.errors import RasterioIOError
from rasterio.warp import Resampling

from ingest.errors import BandGridMismatch, BandNotInFile, SourceMissing, UnknownBand
from ingest.limits import MIB, InputLimits, RasterTooLarge, UnreadableRaster, check_local_path
from ingest.satellite._grid import Grid, to_dataarray, warp
from ingest.satellite.radiometry import L2A_NODATA_DN, Radiometry
from models.indices import Band, band

__all__ = [
    "SEN2R_BOA_BANDS",
    "BandSet",
    "open_checked",
    "read_band_files",
    "read_multiband",
    "read_scl",
]

#: sen2r's ``*_BOA_10.tif`` layout: Sentinel-2 band id → 1-based band number.
SEN2R_BOA_BANDS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "B01": 1, "B02": 2, "B03": 3, "B04": 4, "B05": 5, "B06": 6,
        "B07": 7, "B08": 8, "B09": 9, "B11": 10, "B12": 11,
    }
)  # fmt: skip


@dataclass(frozen=True)
class BandSet:
    """Reflectance bands of one scene on one grid.

    Attributes:
        bands: our band name → float32 reflectance (unitless, 0–1; NaN for nodata) as a
            (y, x) DataArray with CRS and transform (rioxarray).
        grid: the shared pixel grid (CRS, transform, shape).
        radiometry: the scale and offset applied.
        sources: the files read.
    """

    bands: Mapping[str, xr.DataArray]
    grid: Grid
    radiometry: Radiometry
    sources: tuple[str, ...]

    def __getitem__(self, name: str) -> xr.DataArray:
        """One band by our name (``red``) or Sentinel-2 id (``B04``)."""
        return self.bands[_band(name).name]


def _band(name: str) -> Band:
    try:
        return band(name)
    except KeyError:
        raise UnknownBand(band=name) from None


#: The only GDAL raster driver allowed to open an input (VRT, network and every other off).
_DRIVER: Final = "GTiff"


def open_checked(path: str | Path) -> rasterio.DatasetReader:
    """Open a local GeoTIFF whose declared size fits the memory budget.

    Raises:
        UnsafePath: a ``/vsi…`` path or a URL.
        SourceMissing: no such file.
        UnreadableRaster: not a GeoTIFF (a VRT named ``.tif``), or truncated.
        RasterTooLarge: width × height × bands × sample size over the budget.
    """
    check_local_path(path)
    if not Path(path).is_file():
        raise SourceMissing(path=str(path))
    try:
        dataset = rasterio.open(path, driver=_DRIVER)
    except RasterioIOError as exc:
        raise UnreadableRaster(path=Path(path).name, detail=str(exc)) from exc
    budget = InputLimits().raster_memory_bytes
    sample = max(np.dtype(dtype).itemsize for dtype in dataset.dtypes)
    size = dataset.width * dataset.height * dataset.count * sample
    if size > budget:
        dataset.close()
        raise RasterTooLarge(
            path=Path(path).name,
            width=dataset.width,
            height=dataset.height,
            bands=dataset.count,
            dtype=dataset.dtypes[0],
            size_mib=size // MIB,
            limit_mib=budget // MIB,
        )
    return dataset


def _read(dataset: rasterio.DatasetReader, number: int, *, masked: bool) -> Any:
    """Band ``number`` of an open dataset; a truncated or corrupt file is an ingest error."""
    try:
        return dataset.read(number, masked=masked)
    except RasterioIOError as exc:
        raise UnreadableRaster(path=Path(dataset.name).name, detail=str(exc)) from exc


def _reflectance(
    dn: np.ma.MaskedArray[Any, Any],
    b: Band,
    grid: Grid,
    radiometry: Radiometry,
    nodata_dn: tuple[int, ...],
    source: str,
) -> xr.DataArray:
    values = radiometry.to_reflectance(dn, b.s2_id, nodata_dn=nodata_dn)
    attrs = {"long_name": b.name, "band": b.s2_id, "units": "1", "source": source}
    data: xr.DataArray = to_dataarray(values, grid, name=b.name, attrs=attrs)
    return _nan_nodata(data)


def _nan_nodata(data: xr.DataArray) -> xr.DataArray:
    marked: xr.DataArray = data.rio.write_nodata(np.nan, encoded=False)
    return marked


def read_multiband(
    path: str | Path,
    band_map: Mapping[str, int],
    *,
    radiometry: Radiometry,
    bands: Iterable[str] | None = None,
    nodata_dn: tuple[int, ...] = L2A_NODATA_DN,
) -> BandSet:
    """Read named bands of one multi-band GeoTIFF as reflectance.

    Args:
        path: the GeoTIFF (any CRS; bands share its grid).
        band_map: band (Sentinel-2 id or our name) → 1-based band number in the file, e.g.
            :data:`SEN2R_BOA_BANDS`.
        radiometry: the scene's scale and offset (:func:`decide_radiometry`).
        bands: our names (or ids) of the bands to read; default every band of the map.
        nodata_dn: DN that become NaN besides the file's own nodata.

    Raises:
        SourceMissing: no such file.
        UnknownBand: the map or ``bands`` names an unknown band, or ``bands`` one not mapped.
        BandNotInFile: the map points past the file's band count.
    """
    numbers = {_band(key).name: int(number) for key, number in band_map.items()}
    wanted = list(numbers) if bands is None else [_band(b).name for b in bands]
    for name in wanted:
        if name not in numbers:
            raise UnknownBand(band=name)
    with open_checked(path) as ds:
        grid = Grid.of(ds)
        out = {}
        for name in wanted:
            number = numbers[name]
            if not 1 <= number <= ds.count:
                raise BandNotInFile(path=str(path), band=name, number=number, count=ds.count)
            dn = _read(ds, number, masked=True)
            out[name] = _reflectance(dn, band(name), grid, radiometry, nodata_dn, str(path))
    return BandSet(MappingProxyType(out), grid, radiometry, (str(path),))


def read_band_files(
    paths: Mapping[str, str | Path],
    *,
    radiometry: Radiometry,
    grid: Grid | None = None,
    nodata_dn: tuple[int, ...] = L2A_NODATA_DN,
) -> BandSet:
    """Read one file per band (band 1 of each) as reflectance on one grid.

    Bands on another grid than the target are resampled after conversion to reflectance:
    coarser ones by nearest neighbour (exact replication when the grids nest: a 20 m B11
    under 10 m bands), finer ones by averaging the valid pixels.

    Args:
        paths: band (Sentinel-2 id or our name) → file.
        radiometry: the scene's scale and offset.
        grid: target grid; default the grid of the finest band.
        nodata_dn: DN that become NaN besides each file's own nodata.

    Raises:
        SourceMissing: a file does not exist.
        UnknownBand: a key is no known band.
        BandGridMismatch: ``paths`` is empty.
    """
    if not paths:
        raise BandGridMismatch(what="band files", detail="no file given")
    read: dict[str, tuple[xr.DataArray, Grid]] = {}
    for key, path in paths.items():
        b = _band(key)
        with open_checked(path) as ds:
            g = Grid.of(ds)
            dn = _read(ds, 1, masked=True)
        read[b.name] = (_reflectance(dn, b, g, radiometry, nodata_dn, str(path)), g)
    target = grid or min((g for _, g in read.values()), key=lambda g: g.resolution[0])
    out = {}
    for name, (data, g) in read.items():
        if g == target:
            out[name] = data
            continue
        coarser = g.resolution[0] > target.resolution[0]
        resampling = Resampling.nearest if coarser else Resampling.average
        values = warp(data.values, g, target, resampling=resampling, nodata=np.nan)
        out[name] = _nan_nodata(to_dataarray(values, target, name=name, attrs=dict(data.attrs)))
    sources = tuple(str(p) for p in paths.values())
    return BandSet(MappingProxyType(out), target, radiometry, sources)


def read_scl(path: str | Path) -> xr.DataArray:
    """The Sen2Cor scene classification (band 1) as a uint8 DataArray with CRS and transform.

    The file's nodata is not applied: SCL's own class 0 means no data and is masked as such.

    Raises:
        SourceMissing: no such file.
    """
    with open_checked(path) as ds:
        grid = Grid.of(ds)
        values = _read(ds, 1, masked=False).astype(np.uint8)
    return to_dataarray(values, grid, name="scl", attrs={"long_name": "SCL", "source": str(path)})
