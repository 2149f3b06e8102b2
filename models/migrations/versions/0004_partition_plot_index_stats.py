"""plot_index_stats: range partitions by acquisition year, rows stored in plot order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:20:00.000000

Why. Ingest writes statistics scene after scene, so in one heap a plot's five-year series of
one index (365 rows) lies on 365 different pages: a cold series read is ~365 random page
reads, and a warm one needs those pages in memory. The primary key is unchanged and still
serves the query (``plot_id = ? AND index = ?``, ordered by time).

Design. ``plot_index_stats`` is partitioned by ``RANGE (acquired_at)``, one partition per UTC
calendar year ``plot_index_stats_pYYYY`` for 2015 (Sentinel-2's first year) to 2040, and a
default partition ``plot_index_stats_p20_default`` for anything outside (the check constraint
rejects times before 1972 or from 2100 on). Each partition has its own primary key, so the
ingest upsert (``ON CONFLICT (plot_id, index, acquired_at, source)``) works unchanged and
only touches the open year's partition and its indexes, which stay small enough to be cached.

A closed year never changes again (re-ingests aside), so it is rewritten once in primary-key
order: ``CLUSTER plot_index_stats_pYYYY USING plot_index_stats_pYYYY_pkey`` after the year
ends (a maintenance step, minutes per year at 50,000 plots, which locks that partition).
Then a plot's year of one index (73 rows of ~240 bytes) sits on 2–3 adjacent pages, and a
five-year series costs ~4 × 3 heap pages plus the open year's ≤ 73. This upgrade itself
copies the rows in key order, so every existing year starts clustered. Dropping a year for
retention is ``DROP TABLE`` of one partition.

Rejected. A covering primary key (``INCLUDE`` of the returned columns, index-only scans)
gives the best cold reads without maintenance, but the index would hold nearly the whole row:
~20 GB more at 110 M rows beside a 24 GB heap (more than this class of machine has to spare),
and every ingest write goes into one index of that size that no longer fits in memory.
Monthly partitions: more partitions to plan and open per request for no fewer page reads.
Whole-table CLUSTER: rewrites all years, and the lock stops ingest and reads meanwhile.

Figures (``bench/bench_query.py``, 2 cores, 24 GB, virtio disk; README "Benchmarks"). 50,000
plots × 6 indices × 365 scenes (109.5 M rows), this design: heap 24.4 GB, primary key 5.8
GB, scene index 0.7 GB; series of NDVI for 1,000 random plots through the API with an API
key, warm p50/p95/p99 21.3/25.5/33.5 ms, cold (PostgreSQL restarted, page cache dropped)
29.0/37.2/52.1 ms; one scene (300,000 rows) upserted in 13–16 s. 10,000 plots, every scene
through the upsert: 0003 (one heap in time order) warm 22.0/27.3/34.0 ms, cold
28.7/50.1/65.1 ms, heap 4.9 GB and primary key 1.5 GB; this design (closed years CLUSTERed
in 86 s) warm 21.0/28.1/38.8 ms, cold 29.7/40.2/64.7 ms, heap 4.9 GB and primary key 1.1 GB.
Random reads are cheap on this disk, so the measured gain is modest (cold p95 50 → 40 ms, a
26 % smaller key, upserts into a small partition); it grows with the storage's read latency.

The upgrade copies every row (a rewrite of the table: time and disk of the table's size);
the downgrade copies them back into one table.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "plot_index_stats"
OLD = "plot_index_stats_0003"
#: Yearly partitions created up front; later years land in the default partition until a
#: partition for them is created (and the default's rows of that year moved into it).
FIRST_YEAR = 2015
LAST_YEAR = 2040
DEFAULT_PARTITION = "plot_index_stats_p20_default"
COLUMNS = (
    "plot_id, index, acquired_at, source, scene_id, mean, std, min, max, median, p10, p90, "
    "valid_weight, valid_count, total_weight, clear_fraction, masked_shares, flagged, "
    "flag_reason, created_at"
)
KEY_ORDER = "plot_id, index, acquired_at, source"
ACQUIRED_RANGE = "acquired_at >= '1972-01-01 00:00+00' AND acquired_at < '2100-01-01 00:00+00'"


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("plot_id", sa.BigInteger(), nullable=False),
        sa.Column("index", sa.String(length=16), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("scene_id", sa.BigInteger(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=True),
        sa.Column("std", sa.Double(), nullable=True),
        sa.Column("min", sa.Double(), nullable=True),
        sa.Column("max", sa.Double(), nullable=True),
        sa.Column("median", sa.Double(), nullable=True),
        sa.Column("p10", sa.Double(), nullable=True),
        sa.Column("p90", sa.Double(), nullable=True),
        sa.Column("valid_weight", sa.Double(), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=False),
        sa.Column("total_weight", sa.Double(), nullable=False),
        sa.Column("clear_fraction", sa.Double(), nullable=False),
        sa.Column(
            "masked_shares",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _rename_away(table: str) -> None:
    """Move the existing table and its named objects out of the way of the new one."""
    op.rename_table(TABLE, table)
    for old, new in (
        ("pk_plot_index_stats", f"pk_{table}"),
        ("fk_plot_index_stats_plot_id_plots", f"fk_{table}_plot_id_plots"),
        ("fk_plot_index_stats_scene_id_scenes", f"fk_{table}_scene_id_scenes"),
    ):
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{old}" TO "{new}"')
    op.execute(f"ALTER INDEX ix_plot_index_stats_scene_id RENAME TO ix_{table}_scene_id")


def _keys_and_indexes() -> None:
    """Primary key, foreign keys and the scene index (built after the rows are in)."""
    op.create_primary_key(op.f("pk_plot_index_stats"), TABLE, KEY_ORDER.split(", "))
    op.create_foreign_key(
        op.f("fk_plot_index_stats_plot_id_plots"), TABLE, "plots", ["plot_id"], ["id"],
        ondelete="CASCADE",
    )  # fmt: skip
    op.create_foreign_key(
        op.f("fk_plot_index_stats_scene_id_scenes"), TABLE, "scenes", ["scene_id"], ["id"],
        ondelete="CASCADE",
    )  # fmt: skip
    op.create_index("ix_plot_index_stats_scene_id", TABLE, ["scene_id"], unique=False)


def upgrade() -> None:
    _rename_away(OLD)
    op.create_table(
        TABLE,
        *_columns(),
        sa.CheckConstraint(ACQUIRED_RANGE, name=op.f("ck_plot_index_stats_acquired_at")),
        postgresql_partition_by="RANGE (acquired_at)",
    )
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        op.execute(
            f"CREATE TABLE {TABLE}_p{year} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{year}-01-01 00:00+00') TO ('{year + 1}-01-01 00:00+00')"
        )
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
    # Key order: each partition is written clustered, before its indexes exist.
    op.execute(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD} ORDER BY {KEY_ORDER}")
    op.drop_table(OLD)
    _keys_and_indexes()
    op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    _rename_away("plot_index_stats_0004")
    op.create_table(TABLE, *_columns())
    op.execute(
        f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM plot_index_stats_0004 "
        "ORDER BY acquired_at, index, plot_id"
    )
    op.drop_table("plot_index_stats_0004")  # its partitions go with it
    _keys_and_indexes()
