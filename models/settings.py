"""Settings for the database and the region, read from ``SKYGROUND_*`` environment variables.

Nothing here is built at import time: callers construct the classes (or
:class:`Settings`) when they need them, so tests can pass their own values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.auth.settings import AuthSettings

Language = Literal["zh-CN", "en"]


class DatabaseSettings(BaseSettings):
    """Where the database lives.

    With ``SKYGROUND_DATABASE_URL`` unset SkyGround runs its own PostGIS cluster under
    ``SKYGROUND_HOME``; with it set, that server is used and nothing local is started.
    """

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of an external PostGIS database."
    )
    home: Path = Field(
        default=Path(".skyground"), description="Folder for the embedded cluster and stores."
    )
    pg_bindir: Path | None = Field(
        default=None,
        description="Folder of initdb/pg_ctl/postgres; default: newest /usr/lib/postgresql/*/bin.",
    )
    pg_os_user: str = Field(
        default="postgres",
        description="Unprivileged OS user running the embedded cluster when SkyGround is root.",
    )
    pool_size: int = Field(default=5, ge=1, le=100)

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value in ("", None) else value

    @property
    def raster_store(self) -> Path:
        """Folder of the COGs made by ingest (``SKYGROUND_HOME/rasters``)."""
        return self.home / "rasters"

    @property
    def embedded(self) -> bool:
        """Whether SkyGround manages its own local cluster."""
        return self.database_url is None


class ServiceArea(BaseModel):
    """Longitude/latitude box (EPSG:4326) that imported geometries must fall in."""

    west: float = Field(ge=-180, le=180)
    south: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> ServiceArea:
        if self.west >= self.east or self.south >= self.north:
            raise ValueError(
                "service area must be west,south,east,north with west<east, south<north"
            )
        return self

    def contains(self, lon: float, lat: float) -> bool:
        """Whether a longitude/latitude point lies in the box."""
        return self.west <= lon <= self.east and self.south <= lat <= self.north


# Anhua county (about 110.7–112.0°E, 28.0–28.7°N) with a margin of roughly 30 km.
DEFAULT_SERVICE_AREA = "110.4,27.7,112.3,29.0"


class RegionSettings(BaseSettings):
    """Language, time zone and the area the deployment serves."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_", extra="ignore")

    lang: Language = Field(default="zh-CN", description="Default language of messages.")
    timezone: str = Field(default="Asia/Shanghai", description="Time zone times are shown in.")
    service_area: Annotated[ServiceArea | None, NoDecode] = Field(
        default=DEFAULT_SERVICE_AREA,  # type: ignore[assignment]
        description="west,south,east,north in degrees; 'none' turns the area check off.",
    )

    @field_validator("service_area", mode="before")
    @classmethod
    def _parse_area(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().lower() in ("", "none", "off"):
                return None
            parts = [float(p) for p in value.split(",")]
            if len(parts) != 4:
                raise ValueError("service area needs four numbers: west,south,east,north")
            return ServiceArea(west=parts[0], south=parts[1], east=parts[2], north=parts[3])
        return value


class ApiSettings(BaseSettings):
    """The HTTP service."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_API_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address uvicorn binds.")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_page_size: int = Field(default=1000, ge=1, le=10000)
    default_page_size: int = Field(default=100, ge=1, le=10000)
    threads: int = Field(
        default=10,
        ge=1,
        le=200,
        description=(
            "Threads per process for blocking work (database queries, GDAL tile reads); "
            "anyio's default is 40. Keep it near the database pool's capacity "
            "(SKYGROUND_POOL_SIZE × 2) so no thread waits for a connection."
        ),
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body (bytes) of most routes."
    )
    max_upload_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1024,
        description="Largest request body (bytes) of upload routes (POST /api/plots/import).",
    )


class TilesSettings(BaseSettings):
    """Raster and vector tiles."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_TILES_", extra="ignore")

    max_zoom: int = Field(default=22, ge=0, le=24, description="Deepest zoom served.")
    plots_min_zoom: int = Field(
        default=10,
        ge=0,
        le=24,
        description="Shallowest zoom of plot vector tiles; shallower tiles are empty.",
    )
    cache_seconds: int = Field(default=60, ge=0, description="Cache-Control max-age of tiles.")


class WebSettings(BaseSettings):
    """The web map page."""

    model_config = SettingsConfigDict(
        env_prefix="SKYGROUND_", extra="ignore", hide_input_in_errors=True
    )

    tianditu_key: SecretStr | None = Field(
        default=None,
        description="Tianditu browser key (tk): adds Tianditu imagery and labels under the "
        "plots. The page sends it to Tianditu, so every visitor can read it; unset: no basemap.",
    )

    @field_validator("tianditu_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            value = value.strip()
        return None if value in ("", None) else value


class StoreSettings(BaseSettings):
    """The raster store's retention (``skyground store prune``)."""

    model_config = SettingsConfigDict(env_prefix="SKYGROUND_STORE_", extra="ignore")

    retention_months: int | None = Field(
        default=None,
        ge=1,
        description="Months of index and true-colour COGs kept by `skyground store prune`; "
        "unset: kept forever. Scene rows and statistics are always kept.",
    )

    @field_validator("retention_months", mode="before")
    @classmethod
    def _blank_is_forever(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class Settings(BaseModel):
    """All settings of one SkyGround process, one part per concern."""

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    region: RegionSettings = Field(default_factory=RegionSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    tiles: TilesSettings = Field(default_factory=TilesSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)

    @classmethod
    def from_env(cls) -> Settings:
        """Read every part from the environment."""
        return cls(
            db=DatabaseSettings(),
            region=RegionSettings(),
            api=ApiSettings(),
            tiles=TilesSettings(),
            web=WebSettings(),
            auth=AuthSettings(),
            store=StoreSettings(),
        )
