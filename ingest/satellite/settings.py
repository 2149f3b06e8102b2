"""Settings of satellite ingest, read from ``SKYGROUND_INGEST_*`` environment variables.

Nothing is built at import time; callers construct :class:`SatelliteSettings` when needed.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SatelliteSettings"]


class SatelliteSettings(BaseSettings):
    """Masking and clear-sky thresholds of Sentinel-2 scenes."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_INGEST_", extra="ignore")

    mask_scl_7: bool = Field(
        default=False,
        description=(
            "Mask SCL class 7 (unclassified). Off by default: Sen2Cor puts many clear but "
            "mixed pixels of small terraced plots there; cloud edges are caught by dilation."
        ),
    )
    mask_dilation_px: int = Field(
        default=0,
        ge=0,
        le=20,
        description="Grow cloud (8, 9), cirrus (10) and cloud shadow (3) by this many pixels.",
    )
    min_clear_fraction: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A plot observation less clear than this is kept but flagged.",
    )
    warn_clear_fraction: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="A scene (area of interest) less clear than this raises a warning.",
    )
