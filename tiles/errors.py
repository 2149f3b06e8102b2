"""Failures of the ``tiles`` package (one subclass per failure, messages in ``tiles.toml``)."""

from __future__ import annotations

from models.errors import NotFound, SkyGroundError

__all__ = ["RasterMissing", "RasterOutsideStore", "SceneLayerNotFound", "TilesError"]


class TilesError(SkyGroundError):
    """Base of the failures of ``tiles``."""


class SceneLayerNotFound(TilesError, NotFound):
    """No raster of that scene and layer; the message does not say which part was unknown."""

    key = "error_scene_layer_not_found"


class RasterOutsideStore(TilesError):
    """A ``raster_assets`` path resolves outside the raster store (a server-side fault)."""

    key = "error_raster_outside_store"


class RasterMissing(TilesError):
    """A ``raster_assets`` row names a file that is not there (a server-side fault)."""

    key = "error_raster_missing"
