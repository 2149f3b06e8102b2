"""Our band names and what they are on Sentinel-2.

Our names follow the STAC EO common names (as Earth Search v1 uses them as asset keys):
``blue``, ``green``, ``red``, ``rededge1`` … ``swir22``. Every index, reader and mask speaks
these names; Sentinel-2 band ids (``B04``) appear only where a file or product metadata is
mapped onto them, and spyndex symbols (``R``) only where a formula is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["BANDS", "BANDS_BY_S2_ID", "Band", "band"]


@dataclass(frozen=True)
class Band:
    """One spectral band.

    Attributes:
        name: our name, e.g. ``red``.
        s2_id: the Sentinel-2 MSI band id, e.g. ``B04``.
        resolution_m: native ground sampling distance of that band on Sentinel-2, in metres.
        spyndex: the symbol Awesome Spectral Indices (spyndex) uses in its formulas, e.g. ``R``.
        wavelength_nm: central wavelength on Sentinel-2A, in nanometres.
    """

    name: str
    s2_id: str
    resolution_m: int
    spyndex: str
    wavelength_nm: float


# Wavelengths and symbols as listed in spyndex's bands.json for Sentinel-2A; a test checks
# that the two agree.
BANDS: Final[dict[str, Band]] = {
    b.name: b
    for b in (
        Band("coastal", "B01", 60, "A", 442.7),
        Band("blue", "B02", 10, "B", 492.4),
        Band("green", "B03", 10, "G", 559.8),
        Band("red", "B04", 10, "R", 664.6),
        Band("rededge1", "B05", 20, "RE1", 704.1),
        Band("rededge2", "B06", 20, "RE2", 740.5),
        Band("rededge3", "B07", 20, "RE3", 782.8),
        Band("nir", "B08", 10, "N", 832.8),
        Band("nir08", "B8A", 20, "N2", 864.7),
        Band("nir09", "B09", 60, "WV", 945.1),
        Band("swir16", "B11", 20, "S1", 1613.7),
        Band("swir22", "B12", 20, "S2", 2202.4),
    )
}

BANDS_BY_S2_ID: Final[dict[str, Band]] = {b.s2_id: b for b in BANDS.values()}


def band(name_or_id: str) -> Band:
    """The band with our name (``red``) or Sentinel-2 id (``B04``, ``B4`` or ``b04``).

    Raises:
        KeyError: no such band.
    """
    if name_or_id in BANDS:
        return BANDS[name_or_id]
    ident = name_or_id.upper()
    if len(ident) == 2 and ident[0] == "B" and ident[1].isdigit():
        ident = f"B0{ident[1]}"
    return BANDS_BY_S2_ID[ident]
