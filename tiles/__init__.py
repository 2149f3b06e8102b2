"""SkyGround's raster and vector tiles (filled by the satellite-to-map work)."""

__all__: list[str] = []
