"""statistics without per-row foreign-key checks; deletes of plots and scenes follow by trigger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:40:00.000000

Why. A county scene writes ~1.2 M ``plot_index_stats`` rows (200,000 plots × 6 indices) and
up to 200,000 ``plot_latest`` rows. A foreign key checks each inserted row with its own
lookup in ``plots`` and in ``scenes``: measured on 50,000 plots (300,000 rows), 8.7 s of the
18.8 s the statistics took in PostgreSQL went to those checks (``EXPLAIN ANALYZE``:
"Trigger for constraint fk_…"). The writer already guarantees both references: the scene id
comes from the scene row upserted in the same transaction, and the statistics upsert
(``ingest/sql/scene_stats_store.sql``) keeps only staged rows whose plot exists, in one
set-based join.

What stays the same. Deleting a plot or a scene still deletes its statistics and latest
values (``ON DELETE CASCADE`` before): statement-level ``AFTER DELETE`` triggers on ``plots``
and ``scenes`` delete them with one statement per deleting statement (transition tables),
and ``TRUNCATE`` of ``plots`` or ``scenes`` empties both tables.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, constraint, column, referenced table) of the foreign keys this revision drops.
KEYS = (
    ("plot_index_stats", "fk_plot_index_stats_plot_id_plots", "plot_id", "plots"),
    ("plot_index_stats", "fk_plot_index_stats_scene_id_scenes", "scene_id", "scenes"),
    ("plot_latest", "fk_plot_latest_plot_id_plots", "plot_id", "plots"),
    ("plot_latest", "fk_plot_latest_scene_id_scenes", "scene_id", "scenes"),
)

TRIGGERS = """
CREATE FUNCTION statistics_follow_plot_deletes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM plot_index_stats WHERE plot_id IN (SELECT id FROM gone);
    DELETE FROM plot_latest WHERE plot_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;

CREATE FUNCTION statistics_follow_scene_deletes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM plot_index_stats WHERE scene_id IN (SELECT id FROM gone);
    DELETE FROM plot_latest WHERE scene_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;

CREATE FUNCTION statistics_follow_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: the truncating statement may name these tables too.
    DELETE FROM plot_index_stats;
    DELETE FROM plot_latest;
    RETURN NULL;
END $$;

CREATE TRIGGER plots_delete_statistics AFTER DELETE ON plots
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION statistics_follow_plot_deletes();
CREATE TRIGGER scenes_delete_statistics AFTER DELETE ON scenes
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION statistics_follow_scene_deletes();
CREATE TRIGGER plots_truncate_statistics AFTER TRUNCATE ON plots
    FOR EACH STATEMENT EXECUTE FUNCTION statistics_follow_truncate();
CREATE TRIGGER scenes_truncate_statistics AFTER TRUNCATE ON scenes
    FOR EACH STATEMENT EXECUTE FUNCTION statistics_follow_truncate();
"""


def upgrade() -> None:
    for table, name, _, _ in KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    op.execute(TRIGGERS)


def downgrade() -> None:
    for trigger, table in (
        ("plots_delete_statistics", "plots"),
        ("scenes_delete_statistics", "scenes"),
        ("plots_truncate_statistics", "plots"),
        ("scenes_truncate_statistics", "scenes"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in ("plot_deletes", "scene_deletes", "truncate"):
        op.execute(f"DROP FUNCTION statistics_follow_{function}()")
    # Rows whose plot or scene went while no key held them are dropped, so the keys validate.
    for table, name, column, target in KEYS:
        op.execute(
            f"DELETE FROM {table} AS t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {target} AS r WHERE r.id = t.{column})"
        )
        op.create_foreign_key(name, table, target, [column], ["id"], ondelete="CASCADE")
