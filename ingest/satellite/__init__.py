"""Sentinel-2 (and drone band) foundations: read bands, decide radiometry, mask, compute indices.

Pure functions on arrays; orchestration (scenes, COGs, the database) builds on them.
"""

from ingest.satellite._grid import Grid
from ingest.satellite.indices import (
    compute,
    constants_of,
    evi,
    exg,
    formula_of,
    gli,
    gndvi,
    ndmi,
    ndre,
    ndrei,
    ndvi,
    needed_bands,
    savi,
    symbols_of,
    vari,
)
from ingest.satellite.masks import (
    DILATED_SCL,
    MASKED_SCL,
    MaskReason,
    SclClass,
    SclMask,
    align_scl,
    dilate,
    scl_mask,
)
from ingest.satellite.metadata import ProductMetadata, metadata_from_properties, read_mtd
from ingest.satellite.radiometry import (
    L2A_NODATA_DN,
    Plausibility,
    Radiometry,
    RadiometryCheck,
    RadiometrySource,
    Verdict,
    check_radiometry,
    decide_radiometry,
    plausibility,
)
from ingest.satellite.read import (
    SEN2R_BOA_BANDS,
    BandSet,
    read_band_files,
    read_multiband,
    read_scl,
)
from ingest.satellite.settings import SatelliteSettings

__all__ = [
    "DILATED_SCL",
    "L2A_NODATA_DN",
    "MASKED_SCL",
    "SEN2R_BOA_BANDS",
    "BandSet",
    "Grid",
    "MaskReason",
    "Plausibility",
    "ProductMetadata",
    "Radiometry",
    "RadiometryCheck",
    "RadiometrySource",
    "SatelliteSettings",
    "SclClass",
    "SclMask",
    "Verdict",
    "align_scl",
    "check_radiometry",
    "compute",
    "constants_of",
    "decide_radiometry",
    "dilate",
    "evi",
    "exg",
    "formula_of",
    "gli",
    "gndvi",
    "metadata_from_properties",
    "ndmi",
    "ndre",
    "ndrei",
    "ndvi",
    "needed_bands",
    "plausibility",
    "read_band_files",
    "read_mtd",
    "read_multiband",
    "read_scl",
    "savi",
    "scl_mask",
    "symbols_of",
    "vari",
]
