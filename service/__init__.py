"""SkyGround's HTTP service and command line."""

__all__: list[str] = []
