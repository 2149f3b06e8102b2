"""Remote sources of Sentinel-2 L2A scenes: a STAC API searched, the area downloaded, ingested.

:mod:`.stac` searches and groups items and (:mod:`._stac_fetch`) downloads each item's window
of the needed bands into the one-file-per-band layout of local ingest, with a manifest whose
scene facts (:mod:`._scene_facts`) fill the ``scenes`` row; :mod:`.download` checks hosts, signs
Planetary Computer hrefs, reads COG windows with range requests and resumes whole downloads;
:mod:`.settings` holds ``SKYGROUND_STAC_*``.
"""

from ingest.satellite.sources.download import (
    AllowList,
    AssetHostNotAllowed,
    DownloadFailed,
    PlanetaryComputerSigner,
    SignedUrlUnavailable,
    download_whole,
    read_window,
)
from ingest.satellite.sources.settings import DEFAULT_ALLOWED_HOSTS, Signing, StacSettings
from ingest.satellite.sources.stac import (
    ASSET_ALIASES,
    Acquisition,
    FetchReport,
    StacItemRejected,
    StacSearchFailed,
    group_acquisitions,
    ingest_stac,
    search_items,
    solar_day,
)

__all__ = [
    "ASSET_ALIASES",
    "DEFAULT_ALLOWED_HOSTS",
    "Acquisition",
    "AllowList",
    "AssetHostNotAllowed",
    "DownloadFailed",
    "FetchReport",
    "PlanetaryComputerSigner",
    "SignedUrlUnavailable",
    "Signing",
    "StacItemRejected",
    "StacSearchFailed",
    "StacSettings",
    "download_whole",
    "group_acquisitions",
    "ingest_stac",
    "read_window",
    "search_items",
    "solar_day",
]
