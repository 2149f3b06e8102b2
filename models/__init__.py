"""SkyGround's data layer: settings, tables, migrations, the embedded cluster and queries."""

from models.errors import SkyGroundError
from models.settings import DatabaseSettings, RegionSettings, Settings

__all__ = ["DatabaseSettings", "RegionSettings", "Settings", "SkyGroundError"]
