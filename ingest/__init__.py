"""SkyGround's ingest jobs: vector imports now; satellite, drone and sensors later.

Vector imports: :func:`ingest.plots.import_plots` and
:func:`ingest.admin_units.import_admin_units` read GeoJSON, GeoPackage, (zipped) Shapefile,
KML/KMZ, GeoParquet and coordinate CSV in any declared CRS (:mod:`ingest.vectors`), check
every feature, and upsert one file per transaction into EPSG:4326 tables.
"""

__all__: list[str] = []
