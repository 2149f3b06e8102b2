"""A scene's per-plot statistics into PostgreSQL: binary COPY, one upsert, latest values.

The rows of one scene (200,000 plots × 6 indices at county scale) are laid out as one NumPy
record array in PostgreSQL's binary ``COPY`` format, so building them costs no Python per
row: every staged field has a fixed width (statistics as float8 with NaN for "none", the
flag as a code, each mask reason's share in its own column), and what is the same for the
whole scene (time, source, scene id) is a statement parameter, not a column.
``scene_stats_store.sql`` turns NaN into NULL, codes into names, the share columns into the
``masked_shares`` object, and upserts on the primary key (the rule between two
observations of one key is in :mod:`ingest.satellite.ingest`). The first scene of a time
and source, the usual case, needs no conflict rule: a plain INSERT is cheaper (at county
scale ~5 s of 20), with a fall back to the upsert should a key exist after all. The
statement returns the rows it inserted or changed, and only those are looked at for
``plot_latest``, so a re-run that changes nothing does no further work and the cost does
not grow with the history.

``plot_latest`` upkeep for the changed rows (``scene_latest_*.sql``): a changed row that
is unflagged and newer than a plot's latest value (or replaces it) becomes it; a latest
value whose row is now flagged is dropped; a plot and index left without one, or with a
same-day value from another source, is recomputed from its whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest._db import run_sql, sql
from ingest.satellite.masks import MaskReason
from ingest.satellite.stats import (
    FLAG_FEW_PIXELS,
    FLAG_IMPLAUSIBLE_RADIOMETRY,
    FLAG_LOW_CLEAR_FRACTION,
    FLAG_NO_VALID_PIXELS,
    FLAG_OUTSIDE_GRID,
    StatsTable,
)

__all__ = ["FLAG_CODES", "SHARE_REASONS", "copy_payload", "store_stats"]

#: Flag reason → code staged in ``flag_code`` (0: not flagged), as the CASE in
#: ``scene_stats_store.sql`` reads it.
FLAG_CODES: Final = {
    name: code
    for code, name in enumerate(
        (
            FLAG_FEW_PIXELS,
            FLAG_LOW_CLEAR_FRACTION,
            FLAG_NO_VALID_PIXELS,
            FLAG_IMPLAUSIBLE_RADIOMETRY,
        ),
        start=1,
    )
}
#: Mask reasons with a share column (``share_<name>``) in the staging table, in order.
SHARE_REASONS: Final = tuple(r for r in MaskReason if r != MaskReason.CLEAR)

_log = logging.getLogger(__name__)
#: Where ``scene_stats_store.sql`` takes ``scene_stats_conflict.sql``.
_CONFLICT_SLOT: Final = "/* ON CONFLICT */"
_UNIQUE_VIOLATION: Final = "23505"
_STATISTICS: Final = ("mean", "std", "min", "max", "median", "p10", "p90")
_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], ">i4").tobytes()
_TRAILER: Final = np.array([-1], ">i2").tobytes()


def _fields(index_bytes: int) -> list[tuple[str, str, int]]:
    """Staged columns in table order: (name, big-endian dtype, byte length)."""
    fields = [("plot_id", ">i8", 8), ("index", f"S{index_bytes}", index_bytes)]
    fields += [(name, ">f8", 8) for name in _STATISTICS]
    fields += [("valid_weight", ">f8", 8), ("valid_count", ">i4", 4)]
    fields += [("total_weight", ">f8", 8), ("clear_fraction", ">f8", 8)]
    fields += [(f"share_{r.name.lower()}", ">f8", 8) for r in SHARE_REASONS]
    fields += [("flagged", "u1", 1), ("flag_code", ">i2", 2)]
    return fields


def copy_payload(name: str, table: StatsTable) -> tuple[bytes, NDArray[np.intp]]:
    """One index's stored rows as binary COPY tuples (no header), and their table positions.

    Plots flagged ``outside_grid`` (not on the grid) are left out.
    """
    keep = np.flatnonzero(table.flag_reason != FLAG_OUTSIDE_GRID)
    label = name.encode("utf-8")
    fields = _fields(len(label))
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for field, dtype, _ in fields:
        layout += [(f"{field}_len", ">i4"), (field, dtype)]
    rows = np.zeros(len(keep), dtype=np.dtype(layout))
    rows["count"] = len(fields)
    for field, _, length in fields:
        rows[f"{field}_len"] = length
    rows["plot_id"] = table.plot_id[keep].astype(np.int64)
    rows["index"] = label
    for field in (*_STATISTICS, "valid_weight", "total_weight", "clear_fraction"):
        rows[field] = np.asarray(getattr(table, field), dtype=np.float64)[keep]
    rows["valid_count"] = table.valid_count[keep]
    for reason in SHARE_REASONS:
        share = table.masked_shares.get(int(reason))
        rows[f"share_{reason.name.lower()}"] = np.nan if share is None else share[keep]
    rows["flagged"] = table.flagged[keep]
    codes = np.array([FLAG_CODES.get(r, 0) if r else 0 for r in table.flag_reason[keep]])
    rows["flag_code"] = codes
    return rows.tobytes(), keep


def _store_statement(*, fresh: bool) -> str:
    """``scene_stats_store.sql``, with the conflict rule unless no row can conflict."""
    return sql("scene_stats_store").replace(
        _CONFLICT_SLOT, "" if fresh else sql("scene_stats_conflict")
    )


def _insert_fresh(session: Session, key: dict[str, Any]) -> bool:
    """The rows with a plain INSERT; False (nothing written) when a key exists after all.

    That happens when another transaction stored a scene of the same time and source since
    :file:`scene_stats_fresh.sql` looked (this INSERT waited for it to commit), or when rows
    of a scene that has since moved to another time hold the key. A savepoint undoes the
    INSERT; the caller then upserts.
    """
    _log.debug(
        "statistics of scene %s: plain INSERT (the first of its time and source)",
        key["scene_id"],
    )
    try:
        with session.begin_nested():
            session.execute(text(_store_statement(fresh=True)), key)
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        _log.info("statistics of scene %s: a key exists; upserting", key["scene_id"])
        return False
    return True


def store_stats(
    session: Session,
    *,
    acquired_at: datetime,
    source: str,
    scene_id: int,
    tables: Mapping[str, StatsTable],
) -> tuple[int, int]:
    """Stage, upsert and keep ``plot_latest`` current; (plots with rows, flagged rows)."""
    chunks: list[bytes] = []
    plots: list[NDArray[Any]] = []
    flagged = 0
    for name, table in tables.items():
        payload, keep = copy_payload(name, table)
        chunks.append(payload)
        plots.append(table.plot_id[keep])
        flagged += int(table.flagged[keep].sum())
    with_rows = len(np.unique(np.concatenate(plots))) if plots else 0
    if not with_rows:
        return 0, 0
    run_sql(session=session, name="scene_stats_stage")
    columns = ", ".join(f'"{field}"' for field, _, _ in _fields(1))
    cursor = session.connection().connection.cursor()
    statement = f"COPY scene_stats_staging ({columns}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(statement) as copy:
        copy.write(_HEADER)
        for chunk in chunks:
            copy.write(chunk)
        copy.write(_TRAILER)
    key = {"acquired_at": acquired_at, "source": source, "scene_id": scene_id}
    fresh = bool(run_sql(session=session, name="scene_stats_fresh", params=key)[0][0])
    if not (fresh and _insert_fresh(session, key)):
        _log.debug("statistics of scene %s: upsert", scene_id)
        session.execute(text(_store_statement(fresh=False)), key)
    for step in ("scene_latest_prune", "scene_latest", "scene_latest_recompute"):
        run_sql(session=session, name=step, params=key)
    return with_rows, flagged
