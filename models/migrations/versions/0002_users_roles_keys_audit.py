"""users, roles, scopes, API keys, web sessions and the append-only audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:45:21.793247
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Updates, deletes and truncation of the audit log are refused unless the transaction
#: declared admin work (``SET LOCAL skyground.audit_admin = 'on'``, see models.auth.audit).
APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('skyground.audit_admin', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


#: Every insert, update and delete of plots and admin units is written to the audit log by a
#: trigger, whatever made it (API, command line, SQL): the row before and after, boundaries as
#: GeoJSON (an insert logs the new row without its boundary, which the table holds). The actor
#: comes from the transaction (``SET LOCAL skyground.actor``) or the connection
#: (``-c skyground.actor=…``), else the database user is named.
AUDIT_ROWS = """
CREATE FUNCTION audit_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('skyground.actor', true), ''),
                         'db:' || session_user);
    who_id bigint := nullif(current_setting('skyground.actor_id', true), '')::bigint;
    kind text := TG_ARGV[0];
BEGIN
    -- Statement-level with transition tables: one set-based insert per statement, so a
    -- 50,000-plot import is not slowed by 50,000 trigger calls.
    IF TG_OP = 'INSERT' THEN
        -- The new row's boundary is in its table; a later update logs it as "before".
        INSERT INTO audit_log (actor_id, actor, action, object_type, object_id, before, after)
        SELECT who_id, who, kind || '.insert', kind, n.code, NULL, to_jsonb(n) - 'geom'
        FROM new_rows n ORDER BY n.id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log (actor_id, actor, action, object_type, object_id, before, after)
        SELECT who_id, who, kind || '.update', kind, n.code,
               (to_jsonb(o) - 'geom')
                   || jsonb_build_object('geometry', ST_AsGeoJSON(o.geom, 7)::jsonb),
               (to_jsonb(n) - 'geom')
                   || jsonb_build_object('geometry', ST_AsGeoJSON(n.geom, 7)::jsonb)
        FROM old_rows o JOIN new_rows n ON n.id = o.id ORDER BY n.id;
    ELSE
        INSERT INTO audit_log (actor_id, actor, action, object_type, object_id, before, after)
        SELECT who_id, who, kind || '.delete', kind, o.code,
               (to_jsonb(o) - 'geom')
                   || jsonb_build_object('geometry', ST_AsGeoJSON(o.geom, 7)::jsonb),
               NULL
        FROM old_rows o ORDER BY o.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER plots_audit_insert AFTER INSERT ON plots REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('plot');
CREATE TRIGGER plots_audit_update AFTER UPDATE ON plots
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('plot');
CREATE TRIGGER plots_audit_delete AFTER DELETE ON plots REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('plot');
CREATE TRIGGER admin_units_audit_insert AFTER INSERT ON admin_units
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('admin_unit');
CREATE TRIGGER admin_units_audit_update AFTER UPDATE ON admin_units
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('admin_unit');
CREATE TRIGGER admin_units_audit_delete AFTER DELETE ON admin_units
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows('admin_unit');
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
            "role IN ('viewer', 'agronomist', 'extension', 'land_officer', 'land_approver',"
            " 'operator', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.CheckConstraint(
            "username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'", name=op.f("ck_users_username")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_keys_key_sha256")),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"], unique=False)
    op.execute(APPEND_ONLY)
    op.execute(AUDIT_ROWS)
    op.create_table(
        "user_scopes",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("admin_unit_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_unit_id"],
            ["admin_units.id"],
            name=op.f("fk_user_scopes_admin_unit_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_scopes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "admin_unit_id", name=op.f("pk_user_scopes")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("user_scopes")
    for table in ("plots", "admin_units"):
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_audit_{event} ON {table}")
    op.execute("DROP FUNCTION audit_rows()")
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index("ix_audit_log_object", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_keys_user_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("users")
