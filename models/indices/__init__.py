"""The declarative index catalogue: bands, index entries, colormaps, legends and storage.

Formulas are evaluated in ``ingest.satellite.indices`` (from spyndex); this package holds
only what every part of SkyGround needs to agree on, so ``tiles`` can import it without
``ingest``.
"""

from models.indices.bands import BANDS, BANDS_BY_S2_ID, Band, band
from models.indices.catalogue import INDICES, IndexSpec, Platform, get_index, indices_for
from models.indices.rendering import RGBA, Colormap, ColorStop, Legend, hex_to_rgba
from models.indices.scaling import INT16_PER_10000, Scaling

__all__ = [
    "BANDS",
    "BANDS_BY_S2_ID",
    "INDICES",
    "INT16_PER_10000",
    "RGBA",
    "Band",
    "ColorStop",
    "Colormap",
    "IndexSpec",
    "Legend",
    "Platform",
    "Scaling",
    "band",
    "get_index",
    "hex_to_rgba",
    "indices_for",
]
