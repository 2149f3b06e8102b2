"""The index catalogue: every index SkyGround computes, declared once.

Each entry says which of our bands the index needs, on which platforms we compute it, its
valid range, how it is coloured, its legend and how it is stored. The formula and its
constants are *not* typed in here: they come from spyndex (Awesome Spectral Indices) under
the entry's name, evaluated by ``ingest.satellite.indices``; this module stays free of spyndex
so the tile service can import it for colormaps and legends alone.

Names are spyndex's short names (``NDREI``, not ``NDRE``, which spyndex does not know);
``NDRE`` is an alias. Look-ups ignore case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from models.errors import NotFound
from models.indices.bands import BANDS
from models.indices.rendering import Colormap, ColorStop, Legend
from models.indices.scaling import INT16_PER_10000, Scaling

__all__ = ["INDICES", "IndexSpec", "Platform", "get_index", "indices_for"]


class Platform(StrEnum):
    """Where the bands of an index come from."""

    SENTINEL2 = "sentinel2"
    DRONE_RGB = "drone_rgb"
    DRONE_MULTISPECTRAL = "drone_multispectral"


@dataclass(frozen=True, eq=False)
class IndexSpec:
    """One spectral index.

    Attributes:
        name: spyndex's short name, e.g. ``NDVI``; the formula is spyndex's under that name.
        label_key: catalogue key of the index's display name.
        bands: our band names the formula needs (see :mod:`models.indices.bands`).
        platforms: where we compute it.
        valid_range: lowest and highest meaningful value (unitless); values outside are
            artefacts (tiny denominators, negative reflectance) and become NaN.
        colormap: colour ramp for tiles.
        legend: what the map legend shows.
        scaling: how the raster is stored.
        aliases: other names that resolve to this entry (``NDRE`` → ``NDREI``).
        constants: spyndex constants whose spyndex default we replace, with the reason in the
            module that declares the entry.
    """

    name: str
    label_key: str
    bands: tuple[str, ...]
    platforms: frozenset[Platform]
    valid_range: tuple[float, float]
    colormap: Colormap
    legend: Legend
    scaling: Scaling = INT16_PER_10000
    aliases: tuple[str, ...] = ()
    constants: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def resolution_m(self) -> int:
        """Native Sentinel-2 resolution of the index in metres: the coarsest band it needs."""
        return max(BANDS[b].resolution_m for b in self.bands)

    @property
    def s2_bands(self) -> tuple[str, ...]:
        """Sentinel-2 band ids of :attr:`bands`, e.g. ``("B04", "B08")``."""
        return tuple(BANDS[b].s2_id for b in self.bands)


# Brown (bare soil) → yellow → green (dense canopy), ColorBrewer BrBG/RdYlGn hues.
_VEGETATION = ("#a6611a", "#dfc27d", "#ffffbf", "#a6d96a", "#1a9641", "#00441b")
# Brown (dry) → white → blue (wet) for canopy water.
_MOISTURE = ("#8c510a", "#d8b365", "#f5f5f5", "#67a9cf", "#2166ac", "#053061")


def _spec(
    name: str,
    bands: tuple[str, ...],
    platforms: tuple[Platform, ...],
    stops: tuple[float, ...],
    *,
    valid_range: tuple[float, float] = (-1.0, 1.0),
    moisture: bool = False,
    aliases: tuple[str, ...] = (),
    constants: Mapping[str, float] | None = None,
) -> IndexSpec:
    colors = _MOISTURE if moisture else _VEGETATION
    colormap = Colormap(
        name="moisture" if moisture else "vegetation",
        stops=tuple(ColorStop(v, c) for v, c in zip(stops, colors, strict=True)),
    )
    label_key = f"index_{name.lower()}"
    legend = Legend(
        title_key=label_key,
        low_key="legend_dry" if moisture else "legend_sparse",
        high_key="legend_wet" if moisture else "legend_dense",
        colormap=colormap,
    )
    return IndexSpec(
        name=name,
        label_key=label_key,
        bands=bands,
        platforms=frozenset(platforms),
        valid_range=valid_range,
        colormap=colormap,
        legend=legend,
        aliases=aliases,
        constants=MappingProxyType(dict(constants or {})),
    )


_S2 = Platform.SENTINEL2
_RGB = Platform.DRONE_RGB
_MS = Platform.DRONE_MULTISPECTRAL

INDICES: Final[Mapping[str, IndexSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec("NDVI", ("nir", "red"), (_S2, _MS), (-0.2, 0.1, 0.3, 0.5, 0.7, 0.9)),
            # EVI keeps spyndex's constants (g 2.5, C1 6, C2 7.5, L 1; MODIS EVI).
            _spec("EVI", ("nir", "red", "blue"), (_S2,), (-0.2, 0.05, 0.2, 0.4, 0.6, 0.8)),
            # spyndex has one L (1.0, EVI's canopy background term) for EVI and SAVI; SAVI's
            # own paper (Huete 1988, spyndex's reference for SAVI) uses L = 0.5 for
            # intermediate vegetation cover, which is what tea gardens have.
            _spec(
                "SAVI",
                ("nir", "red"),
                (_S2,),
                (-0.2, 0.05, 0.2, 0.35, 0.5, 0.7),
                constants={"L": 0.5},
            ),
            _spec(
                "NDREI",
                ("nir", "rededge1"),
                (_S2, _MS),
                (-0.1, 0.05, 0.15, 0.3, 0.45, 0.6),
                aliases=("NDRE",),
            ),
            _spec("GNDVI", ("nir", "green"), (_S2,), (-0.2, 0.1, 0.3, 0.5, 0.65, 0.8)),
            _spec(
                "NDMI", ("nir", "swir16"), (_S2,), (-0.6, -0.3, 0.0, 0.2, 0.4, 0.6), moisture=True
            ),
            _spec("VARI", ("green", "red", "blue"), (_RGB,), (-0.4, -0.1, 0.0, 0.1, 0.25, 0.4)),
            # 2G − R − B of reflectances in 0–1 lies in −2…2.
            _spec(
                "ExG",
                ("green", "red", "blue"),
                (_RGB,),
                (-0.2, 0.0, 0.05, 0.1, 0.2, 0.35),
                valid_range=(-2.0, 2.0),
            ),
            _spec("GLI", ("green", "red", "blue"), (_RGB,), (-0.3, -0.05, 0.0, 0.1, 0.2, 0.35)),
        )
    }
)

_LOOKUP: Final[dict[str, IndexSpec]] = {
    key.lower(): spec for spec in INDICES.values() for key in (spec.name, *spec.aliases)
}


def get_index(name: str) -> IndexSpec:
    """The catalogue entry of ``name`` or an alias of it, ignoring case.

    Raises:
        NotFound: no index of that name (kind ``index``).
    """
    spec = _LOOKUP.get(name.strip().lower())
    if spec is None:
        raise NotFound(kind="@kind_index", ident=name)
    return spec


def indices_for(platform: Platform) -> tuple[IndexSpec, ...]:
    """The indices computed on ``platform``, in catalogue order."""
    return tuple(spec for spec in INDICES.values() if platform in spec.platforms)
