"""From a scene id and a layer name to a COG in the raster store, through ``raster_assets``.

Clients name a layer (an index of the catalogue, an alias such as ``NDRE``, or
:data:`~tiles.raster.TRUECOLOR`) and a scene id; the file comes from the database row, is
resolved under the raster store and refused if it lies outside. No client text ever becomes
part of a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.indices import Colormap, get_index
from models.tables import RasterAsset
from tiles.errors import RasterMissing, RasterOutsideStore, SceneLayerNotFound
from tiles.raster import TRUECOLOR

__all__ = [
    "LAYER_NAME_PATTERN",
    "SceneLayer",
    "layer_kind",
    "resolve_in_store",
    "scene_layer",
]

#: What a layer name may look like (letters, digits, underscore): no dots, no slashes.
LAYER_NAME_PATTERN: Final = r"^[A-Za-z0-9_]{1,32}$"
#: Folder of the raster store under ``SKYGROUND_HOME``.


@dataclass(frozen=True)
class SceneLayer:
    """One COG of one scene, ready to render.

    Attributes:
        scene_id: id of the scene.
        kind: canonical layer name (``NDVI``, ``NDREI``, ``truecolor``): ``raster_assets.kind``.
        path: absolute path of the COG inside the raster store.
        scale: index units per stored step (``value = stored × scale + offset``).
        offset: index value of stored 0.
        nodata: stored no-data value, ``None`` if the row records none.
        colormap: the index's colormap; ``None`` for true colour.
    """

    scene_id: int
    kind: str
    path: Path
    scale: float
    offset: float
    nodata: float | None
    colormap: Colormap | None


def layer_kind(name: str) -> tuple[str, Colormap | None]:
    """Canonical ``raster_assets.kind`` and colormap of a layer name (case and aliases ignored).

    Raises:
        SceneLayerNotFound: not an index of the catalogue nor true colour.
    """
    if name.strip().lower() == TRUECOLOR:
        return TRUECOLOR, None
    try:
        spec = get_index(name)
    except NotFound:
        raise SceneLayerNotFound() from None
    return spec.name, spec.colormap


def resolve_in_store(root: Path, relative: str) -> Path:
    """Absolute path of a stored raster; refused unless it is a file inside ``root``.

    Symbolic links and ``..`` are resolved before the check; an absolute ``relative``
    replaces ``root`` entirely and so fails it too.

    Raises:
        RasterOutsideStore: the path escapes the store.
        RasterMissing: nothing (or no regular file) is there.
    """
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise RasterOutsideStore(path=relative, root=str(base))
    if not path.is_file():
        raise RasterMissing(path=str(path))
    return path


def scene_layer(*, session: Session, scene_id: int, name: str, store: Path) -> SceneLayer:
    """The COG of layer ``name`` of scene ``scene_id``.

    Raises:
        SceneLayerNotFound: unknown scene, unknown layer or no such raster (one message).
        RasterOutsideStore: the row's path escapes ``store``.
        RasterMissing: the row's file is gone.
    """
    kind, colormap = layer_kind(name)
    asset = session.execute(
        select(RasterAsset).where(RasterAsset.scene_id == scene_id, RasterAsset.kind == kind)
    ).scalar_one_or_none()
    if asset is None:
        raise SceneLayerNotFound()
    return SceneLayer(
        scene_id=scene_id,
        kind=kind,
        path=resolve_in_store(store, asset.path),
        scale=asset.scale,
        offset=asset.offset,
        nodata=asset.nodata,
        colormap=colormap,
    )
