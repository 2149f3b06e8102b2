"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 21:06:33.089555
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "admin_units",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('county', 'township', 'village')", name=op.f("ck_admin_units_level")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["admin_units.id"],
            name=op.f("fk_admin_units_parent_id_admin_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_units")),
        sa.UniqueConstraint("code", name=op.f("uq_admin_units_code")),
    )
    op.create_geospatial_index(
        "idx_admin_units_geom",
        "admin_units",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_admin_units_parent_id", "admin_units", ["parent_id"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column(
            "state", sa.String(length=16), server_default=sa.text("'queued'"), nullable=False
        ),
        sa.Column("progress", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_jobs_state"),
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name=op.f("ck_jobs_progress")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"], unique=False)
    op.create_geospatial_table(
        "scenes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("scene_key", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tile_id", sa.String(length=16), nullable=True),
        sa.Column("orbit", sa.Integer(), nullable=True),
        sa.Column("cloud_cover", sa.Double(), nullable=True),
        sa.Column("clear_fraction", sa.Double(), nullable=True),
        sa.Column("crs", sa.String(length=64), nullable=True),
        sa.Column(
            "footprint",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "radiometry",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "properties",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenes")),
        sa.UniqueConstraint("source", "scene_key", name=op.f("uq_scenes_source_scene_key")),
    )
    op.create_geospatial_index(
        "idx_scenes_footprint",
        "scenes",
        ["footprint"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_scenes_acquired_at", "scenes", ["acquired_at"], unique=False)
    op.create_geospatial_table(
        "plots",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("cooperative", sa.Text(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("village_name", sa.Text(), nullable=True),
        sa.Column("crop", sa.Text(), nullable=True),
        sa.Column("variety", sa.Text(), nullable=True),
        sa.Column("planting_year", sa.SmallInteger(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("area_m2 > 0", name=op.f("ck_plots_area_positive")),
        sa.CheckConstraint(
            "planting_year BETWEEN 1900 AND 2200", name=op.f("ck_plots_planting_year")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"],
            ["admin_units.id"],
            name=op.f("fk_plots_village_id_admin_units"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plots")),
        sa.UniqueConstraint("code", name=op.f("uq_plots_code")),
    )
    op.create_geospatial_index(
        "idx_plots_geom",
        "plots",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_plots_cooperative", "plots", ["cooperative"], unique=False)
    op.create_index("ix_plots_village_id", "plots", ["village_id"], unique=False)
    op.create_table(
        "raster_assets",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("scene_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("dtype", sa.String(length=16), nullable=False),
        sa.Column("scale", sa.Double(), server_default=sa.text("1"), nullable=False),
        sa.Column("offset", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("nodata", sa.Double(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_raster_assets_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raster_assets")),
        sa.UniqueConstraint("scene_id", "kind", name=op.f("uq_raster_assets_scene_id_kind")),
    )
    op.create_table(
        "plot_index_stats",
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
        sa.ForeignKeyConstraint(
            ["plot_id"],
            ["plots.id"],
            name=op.f("fk_plot_index_stats_plot_id_plots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_plot_index_stats_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "plot_id", "index", "acquired_at", "source", name=op.f("pk_plot_index_stats")
        ),
    )
    op.create_index("ix_plot_index_stats_scene_id", "plot_index_stats", ["scene_id"], unique=False)
    op.create_table(
        "plot_latest",
        sa.Column("plot_id", sa.BigInteger(), nullable=False),
        sa.Column("index", sa.String(length=16), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("scene_id", sa.BigInteger(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_plot_latest_plot_id_plots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_plot_latest_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plot_id", "index", name=op.f("pk_plot_latest")),
    )


def downgrade() -> None:
    op.drop_table("plot_latest")
    op.drop_index("ix_plot_index_stats_scene_id", table_name="plot_index_stats")
    op.drop_table("plot_index_stats")
    op.drop_table("raster_assets")
    op.drop_index("ix_plots_village_id", table_name="plots")
    op.drop_index("ix_plots_cooperative", table_name="plots")
    op.drop_geospatial_index(
        "idx_plots_geom", table_name="plots", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("plots")
    op.drop_index("ix_scenes_acquired_at", table_name="scenes")
    op.drop_geospatial_index(
        "idx_scenes_footprint",
        table_name="scenes",
        postgresql_using="gist",
        column_name="footprint",
    )
    op.drop_geospatial_table("scenes")
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_admin_units_parent_id", table_name="admin_units")
    op.drop_geospatial_index(
        "idx_admin_units_geom",
        table_name="admin_units",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("admin_units")
