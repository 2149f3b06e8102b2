"""Reading vector files of any supported format and CRS into EPSG:4326."""

from ingest.vectors.read import SUFFIXES, ReadOptions, VectorSource, read_vector

__all__ = ["SUFFIXES", "ReadOptions", "VectorSource", "read_vector"]
