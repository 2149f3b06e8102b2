"""Settings of the remote sources: ``SKYGROUND_STAC_*`` and ``SKYGROUND_SH_*`` variables.

Nothing is built at import time; callers construct :class:`StacSettings` or
:class:`SentinelHubSettings` when needed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "CDSE_BASE_URL",
    "CDSE_TOKEN_URL",
    "DEFAULT_ALLOWED_HOSTS",
    "SentinelHubSettings",
    "Signing",
    "StacSettings",
]

#: Hosts that serve Sentinel-2 L2A assets and catalogues of the catalogues we know.
DEFAULT_ALLOWED_HOSTS = (
    "sentinel-cogs.s3.us-west-2.amazonaws.com",
    "sentinel2l2a01.blob.core.windows.net",
    "earth-search.aws.element84.com",
    "planetarycomputer.microsoft.com",
)
_PC_HOST = "planetarycomputer.microsoft.com"


class Signing(StrEnum):
    """How asset hrefs are signed before download."""

    AUTO = "auto"
    PLANETARY_COMPUTER = "planetary-computer"
    NONE = "none"


class StacSettings(BaseSettings):
    """Where to search (STAC API and collection), what to trust and how to sign."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_STAC_", extra="ignore")

    url: str = Field(
        default="https://earth-search.aws.element84.com/v1",
        description="STAC API landing page (Earth Search v1 by default).",
    )
    collection: str = Field(default="sentinel-2-l2a", description="Collection searched.")
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_ALLOWED_HOSTS,
        description=(
            "Hosts (``host`` or ``host:port``, comma-separated) asset hrefs may point at; an "
            "item with an asset elsewhere is rejected with a warning."
        ),
    )
    allow_http: bool = Field(
        default=False, description="Accept plain http asset hrefs (loopback tests only)."
    )
    signing: Signing = Field(
        default=Signing.AUTO,
        description=(
            "``auto`` signs hrefs with Planetary Computer SAS tokens when ``url`` is on "
            "planetarycomputer.microsoft.com; ``planetary-computer`` always; ``none`` never."
        ),
    )
    pc_token_url: str = Field(
        default="https://planetarycomputer.microsoft.com/api/sas/v1/token",
        description="Planetary Computer SAS token API; ``GET {url}/{collection}``.",
    )
    max_cloud_pct: float = Field(
        default=80.0, ge=0, le=100, description="Default ``--max-cloud`` (eo:cloud_cover, %)."
    )
    max_items: int = Field(default=200, ge=1, le=5000, description="Most items one search keeps.")
    timeout_s: float = Field(default=60.0, gt=0, description="HTTP timeout (seconds).")
    retries: int = Field(
        default=3, ge=0, le=20, description="Resumed attempts after a truncated download."
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @property
    def signs_with_planetary_computer(self) -> bool:
        """Whether hrefs get Planetary Computer SAS tokens."""
        if self.signing is Signing.AUTO:
            host = (urlsplit(self.url).hostname or "").lower()
            return host == _PC_HOST or host.endswith("." + _PC_HOST)
        return self.signing is Signing.PLANETARY_COMPUTER


#: Copernicus Data Space Ecosystem's Sentinel Hub (the default) and its OAuth token endpoint.
CDSE_BASE_URL = "https://sh.dataspace.copernicus.eu"
CDSE_TOKEN_URL = (
    "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
)


class SentinelHubSettings(BaseSettings):
    """Sentinel Hub deployment, OAuth client and request limits (``SKYGROUND_SH_*``).

    For sentinel-hub.com set ``SKYGROUND_SH_BASE_URL=https://services.sentinel-hub.com`` and
    ``SKYGROUND_SH_TOKEN_URL=https://services.sentinel-hub.com/auth/realms/main/protocol/
    openid-connect/token``; the defaults are the Copernicus Data Space Ecosystem.
    """

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_SH_", extra="ignore")

    client_id: SecretStr = Field(default=SecretStr(""), description="OAuth client id.")
    client_secret: SecretStr = Field(default=SecretStr(""), description="OAuth client secret.")
    base_url: str = Field(default=CDSE_BASE_URL, description="Sentinel Hub deployment.")
    token_url: str = Field(default=CDSE_TOKEN_URL, description="OAuth token endpoint.")
    collection: str = Field(
        default="sentinel-2-l2a", description="Catalog collection and Process API data type."
    )
    max_cloud_pct: float = Field(
        default=80.0, ge=0, le=100, description="Default ``--max-cloud`` (eo:cloud_cover, %)."
    )
    max_pixels: int = Field(
        default=2500,
        ge=1,
        le=2500,
        description="Largest width and height (px) of one Process API request; bigger areas "
        "are split into tiles and mosaicked.",
    )
    resolution_m: float = Field(default=10.0, gt=0, description="Output pixel size (m, UTM).")
    max_download_attempts: int = Field(
        default=4, ge=1, le=20, description="Attempts on 5xx and connection errors."
    )
    download_sleep_s: float = Field(
        default=5.0, ge=0, description="Wait before the 2nd attempt (then tripled each time)."
    )
    max_rate_limit_retries: int = Field(
        default=10,
        ge=1,
        le=100,
        description="429 answers tolerated per request (each waits Retry-After) before the "
        "job stops as out of quota.",
    )
    timeout_s: float = Field(default=120.0, gt=0, description="HTTP timeout (seconds).")
