"""SkyGround's ingest jobs: vector imports now; satellite, drone and sensors later."""

__all__: list[str] = []
