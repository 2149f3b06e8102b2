"""What an import reports: notes for people and the summary of counts.

A :class:`Note` is a catalogue key with its values, rendered in the reader's language only
when shown, so the same summary serves the zh-CN CLI, the English JSON and the job row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.i18n import t
from models.units import area_ha, area_mu

__all__ = ["ImportSummary", "Note"]


@dataclass(frozen=True)
class Note:
    """Something the import did or noticed that the user should know (not an error)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """The note in ``lang`` (default zh-CN)."""
        return t(self.key, lang, **self.params)


@dataclass
class ImportSummary:
    """Result of one vector import (or of its dry run).

    Attributes:
        kind: ``plots`` or ``admin_units``.
        source: file name stored in ``plots.source`` (no folder).
        driver: GDAL driver name, ``GeoParquet`` or ``CSV``.
        layer: layer read, when the format has layers.
        features: features in the file.
        source_crs: CRS the coordinates were read in, e.g. ``EPSG:4546``.
        encoding: text encoding used for attributes (e.g. ``GB18030``), None when the format
            fixes it.
        encoding_origin: how the encoding was chosen: ``override``, ``cpg``, ``detected``,
            ``ldid`` or ``format``.
        area_m2: total area of the imported features on the WGS 84 ellipsoid, m².
    """

    kind: str
    source: str
    driver: str
    layer: str | None
    features: int
    source_crs: str
    encoding: str | None
    encoding_origin: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    unretired: int = 0
    area_m2: float = 0.0
    dry_run: bool = False
    job_id: str | None = None
    villages: dict[str, int] = field(default_factory=dict)
    parents: dict[str, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """JSON-safe form; areas in m², 亩 (half up, 2 decimals) and ha; notes rendered."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "source": self.source,
            "driver": self.driver,
            "layer": self.layer,
            "features": self.features,
            "source_crs": self.source_crs,
            "encoding": self.encoding,
            "encoding_origin": self.encoding_origin,
            "counts": {
                "inserted": self.inserted,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "retired": self.retired,
                "unretired": self.unretired,
            },
            "area_m2": round(self.area_m2, 2),
            "area_mu": str(area_mu(self.area_m2)),
            "area_ha": str(area_ha(self.area_m2)),
            "dry_run": self.dry_run,
            "job_id": self.job_id,
            "notes": [
                {"key": n.key, "params": n.params, "message": n.render(lang)} for n in self.notes
            ],
        }
        if self.kind == "plots":
            data["villages"] = self.villages
        else:
            data["parents"] = self.parents
        return data
