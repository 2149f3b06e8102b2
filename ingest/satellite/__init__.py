"""Sentinel-2 (and drone band) foundations: read bands, decide radiometry, mask, compute indices.

Pure functions on arrays, and on top of them the ingest of local scenes (:mod:`.ingest`):
COGs in the raster store (:mod:`.cog`) and per-plot statistics in PostGIS.
"""

from ingest.satellite._grid import Grid
from ingest.satellite._inputs import (
    NoSceneFound,
    SceneDateMissing,
    SceneFiles,
    SclMissing,
    find_scenes,
)
from ingest.satellite.cog import CogInfo, encode_true_colour, write_cog
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
from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local, ingest_scene
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
    "ingest_scene",
    "ingest_local",
    "SceneResult",
    "IngestOptions",
    "write_cog",
    "encode_true_colour",
    "CogInfo",
    "find_scenes",
    "SclMissing",
    "SceneFiles",
    "SceneDateMissing",
    "NoSceneFound",
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
