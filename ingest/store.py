"""The raster store's storage plan: what it holds by year, source and layer, and retention.

Ingest writes one COG per scene and layer (index rasters int16 × 1e-4, true colour uint8,
clipped to the plots' extent plus 50 m, with overviews) under
``SKYGROUND_HOME/rasters/<source>/<scene_key>/``, each with a ``raster_assets`` row whose path
is relative to the store. :func:`store_usage` sums the files on disk by the year the scene was
acquired (UTC), its source and the layer, and lists rows whose file is missing and files no row
names (orphans). :func:`prune_store` removes the COGs of scenes acquired more than N months
ago: rows first, in one transaction with an audit entry, then the files. A crash between the
two leaves orphan files (which the next ``usage`` or prune reports), never rows naming missing
files. ``scenes`` rows and every statistic (``plot_index_stats``, ``plot_latest``) are kept.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingest.errors import IngestError
from models.auth.audit import record
from models.indices import INDICES
from models.tables import RasterAsset, Scene

__all__ = [
    "TRUE_COLOUR_KIND",
    "InvalidRetention",
    "MissingFile",
    "OrphanFile",
    "PruneResult",
    "RetentionNotSet",
    "StoreUsage",
    "UsageRow",
    "months_before",
    "prune_store",
    "store_usage",
]

#: ``raster_assets.kind`` of the true-colour COG (``ingest.satellite.ingest.TRUE_COLOUR``).
TRUE_COLOUR_KIND: Final = "truecolor"
#: Audit action of a prune.
PRUNE_ACTION: Final = "store.prune"


class RetentionNotSet(IngestError):
    """Prune was asked for without ``--keep-months`` and without a retention setting."""

    key = "error_store_retention_not_set"


class InvalidRetention(IngestError):
    """The retention is not a whole number of months ≥ 1 (``value`` names it)."""

    key = "error_store_retention_invalid"


@dataclass(frozen=True)
class UsageRow:
    """Files on disk of one year (UTC, of acquisition), source and layer."""

    year: int
    source: str
    kind: str
    files: int
    size_bytes: int


@dataclass(frozen=True)
class MissingFile:
    """A ``raster_assets`` row whose file is not in the store (or escapes it: ``outside``)."""

    asset_id: int
    source: str
    scene_key: str
    kind: str
    path: str
    outside: bool = False


@dataclass(frozen=True)
class OrphanFile:
    """A file in the store that no ``raster_assets`` row names (path relative to the store)."""

    path: str
    size_bytes: int


@dataclass(frozen=True)
class StoreUsage:
    """What the store holds: ``rows`` by year, source and layer, then the discrepancies."""

    rows: list[UsageRow]
    missing: list[MissingFile]
    orphans: list[OrphanFile]

    @property
    def files(self) -> int:
        """Files named by rows and present."""
        return sum(r.files for r in self.rows)

    @property
    def size_bytes(self) -> int:
        """Bytes of the files named by rows."""
        return sum(r.size_bytes for r in self.rows)

    @property
    def orphan_bytes(self) -> int:
        """Bytes of the orphan files."""
        return sum(o.size_bytes for o in self.orphans)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with totals."""
        return {
            "rows": [asdict(r) for r in self.rows],
            "total": {"files": self.files, "size_bytes": self.size_bytes},
            "missing": [asdict(m) for m in self.missing],
            "orphans": [asdict(o) for o in self.orphans],
            "orphan_total": {"files": len(self.orphans), "size_bytes": self.orphan_bytes},
        }


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, with ``dry_run``, would remove)."""

    keep_months: int
    cutoff: datetime
    dry_run: bool
    scenes: int
    rows: int
    files: int
    size_bytes: int
    #: Rows removed whose path escaped the store: their files were left alone.
    outside: int = 0
    #: Files no row names after the prune (left in place; see :func:`store_usage`).
    orphans: list[OrphanFile] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """The audit entry's ``after``: the rule and what it removed."""
        return {
            "keep_months": self.keep_months,
            "cutoff": self.cutoff.isoformat(),
            "scenes": self.scenes,
            "rows": self.rows,
            "files": self.files,
            "size_bytes": self.size_bytes,
            "outside": self.outside,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self.counts() | {
            "dry_run": self.dry_run,
            "orphans": [asdict(o) for o in self.orphans],
        }


def store_usage(session: Session, store_root: Path) -> StoreUsage:
    """Bytes and files of the raster store by acquisition year (UTC), source and layer.

    Sizes come from the files on disk (``stat``), not from ``raster_assets.size_bytes``, so
    the report says what the disk holds. Rows whose file is gone, or whose path escapes the
    store, are listed in ``missing``; files under ``store_root`` that no row names (a crash
    between a prune's commit and its deletions, a killed writer's temp file) in ``orphans``.
    Symbolic links are not followed while walking.
    """
    base = store_root.resolve()
    groups: dict[tuple[int, str, str], list[int]] = {}
    missing: list[MissingFile] = []
    referenced: set[Path] = set()
    for asset_id, path, kind, source, scene_key, acquired_at in _asset_rows(session):
        resolved = _in_store(base, path)
        size = _file_size(resolved) if resolved is not None else None
        if resolved is None or size is None:
            missing.append(
                MissingFile(asset_id, source, scene_key, kind, path, outside=resolved is None)
            )
            continue
        referenced.add(resolved)
        group = groups.setdefault((acquired_at.astimezone(UTC).year, source, kind), [0, 0])
        group[0] += 1
        group[1] += size
    rows = [UsageRow(y, s, k, n, b) for (y, s, k), (n, b) in sorted(groups.items())]
    return StoreUsage(rows=rows, missing=missing, orphans=_orphans(base, referenced))


def prune_store(
    session: Session,
    store_root: Path,
    *,
    keep_months: int | None,
    now: datetime,
    actor: str,
    dry_run: bool = False,
) -> PruneResult:
    """Remove the COGs of scenes acquired more than ``keep_months`` months before ``now``.

    Only index and true-colour assets are removed (``raster_assets`` rows and their files);
    ``scenes`` rows and all statistics stay. The rows go first, with one ``store.prune`` audit
    entry, and the session's transaction is **committed**; the files are deleted afterwards.
    A file that a row names again by then (a re-ingest of an old scene) is kept. Files no row
    names are reported in ``orphans``, never deleted: a running ingest writes its COG before
    its row. A dry run reads only: nothing is deleted and no audit entry is written.

    Args:
        session: a session; its open transaction, if any, is committed (unless ``dry_run``).
        store_root: the raster store (``SKYGROUND_HOME/rasters``).
        keep_months: whole months to keep (≥ 1); None means no retention was configured.
        now: the reference time (timezone-aware); the cutoff is ``now`` minus the months.
        actor: who prunes, as the audit log names it (``cli:<os user>``).
        dry_run: report what would be removed, change nothing.

    Raises:
        RetentionNotSet: ``keep_months`` is None.
        InvalidRetention: ``keep_months`` is below 1.
    """
    if keep_months is None:
        raise RetentionNotSet()
    if isinstance(keep_months, bool) or not isinstance(keep_months, int) or keep_months < 1:
        raise InvalidRetention(value=keep_months)
    cutoff = months_before(now, keep_months)
    base = store_root.resolve()
    query = (
        select(RasterAsset.id, RasterAsset.path, RasterAsset.scene_id)
        .join(Scene, Scene.id == RasterAsset.scene_id)
        .where(Scene.acquired_at < cutoff, RasterAsset.kind.in_(_prunable_kinds()))
        .order_by(RasterAsset.id)
    )
    if not dry_run:
        # A concurrent re-ingest of an old scene waits here instead of updating a doomed row.
        # If it commits before the deletions below, its file is kept; if it races them, its
        # row can name a deleted file, which `usage` lists as missing and a re-run restores.
        query = query.with_for_update(of=RasterAsset)
    plan = session.execute(query).all()
    files: dict[Path, int] = {}
    outside = 0
    for _, path, _ in plan:
        resolved = _in_store(base, path)
        if resolved is None:
            outside += 1
            continue
        size = _file_size(resolved)
        if size is not None:
            files[resolved] = size
    result = PruneResult(
        keep_months=keep_months,
        cutoff=cutoff,
        dry_run=dry_run,
        scenes=len({scene_id for _, _, scene_id in plan}),
        rows=len(plan),
        files=len(files),
        size_bytes=sum(files.values()),
        outside=outside,
    )
    if dry_run:
        return replace(result, orphans=_orphans(base, _referenced(session, base)))
    if plan:
        session.execute(delete(RasterAsset).where(RasterAsset.id.in_([r.id for r in plan])))
        record(
            session,
            actor=actor,
            action=PRUNE_ACTION,
            object_type="raster_store",
            object_id=None,
            after=result.counts(),
        )
    session.commit()
    # Database first, then files: from here on a crash leaves orphans, never dangling rows.
    still_named = _referenced(session, base)
    for doomed in files:
        if doomed not in still_named:
            doomed.unlink(missing_ok=True)
            _remove_if_empty(doomed.parent, base)
    orphans = _orphans(base, still_named)
    session.commit()
    return replace(result, orphans=orphans)


def months_before(now: datetime, months: int) -> datetime:
    """``now`` moved back by whole calendar months (the day clamped to the month's length).

    Raises:
        ValueError: ``now`` has no time zone (the cutoff would be ambiguous).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return now.replace(year=year, month=month, day=min(now.day, _days_in(year, month)))


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - datetime(year, month, 1)).days


def _prunable_kinds() -> list[str]:
    return [*INDICES, TRUE_COLOUR_KIND]


def _asset_rows(session: Session) -> Iterable[tuple[int, str, str, str, str, datetime]]:
    query = (
        select(
            RasterAsset.id,
            RasterAsset.path,
            RasterAsset.kind,
            Scene.source,
            Scene.scene_key,
            Scene.acquired_at,
        )
        .join(Scene, Scene.id == RasterAsset.scene_id)
        .order_by(RasterAsset.id)
    )
    return session.execute(query).all()


def _referenced(session: Session, base: Path) -> set[Path]:
    paths = session.scalars(select(RasterAsset.path)).all()
    return {resolved for p in paths if (resolved := _in_store(base, p)) is not None}


def _in_store(base: Path, relative: str) -> Path | None:
    """The resolved path of a row's file, or None when it escapes the store.

    The rule of :func:`tiles.layers.resolve_in_store` (``ingest`` does not import ``tiles``;
    ``tests/ingest/test_store.py`` checks that both agree): symbolic links and ``..`` are
    resolved before the check, and an absolute path replaces the root and so fails it.
    """
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) else None


def _file_size(path: Path) -> int | None:
    """Size in bytes of a regular file, None when nothing (or no regular file) is there."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _walk(base: Path) -> Iterator[tuple[Path, int]]:
    """Every regular file (or symbolic link) under ``base`` with its size, links not followed."""
    for folder, _, names in os.walk(base, followlinks=False):
        for name in names:
            path = Path(folder) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                yield path, info.st_size


def _orphans(base: Path, referenced: set[Path]) -> list[OrphanFile]:
    orphans = [
        OrphanFile(path.relative_to(base).as_posix(), size)
        for path, size in _walk(base)
        if path.resolve() not in referenced
    ]
    return sorted(orphans, key=lambda o: o.path)


def _remove_if_empty(folder: Path, base: Path) -> None:
    """Remove a scene's folder once its last COG is gone (never the store itself)."""
    if folder == base or not folder.is_relative_to(base):
        return
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (other layers, a writer's temp file) or already gone
