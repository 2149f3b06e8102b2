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
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('skyground.actor', true), ''),
                         'db:' || session_user);
    who_id bigint := nullif(current_setting('skyground.actor_id', true), '')::bigint;
    old_row jsonb;
    new_row jsonb;
    kind text := TG_ARGV[0];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := (to_jsonb(OLD) - 'geom')
            || jsonb_build_object('geometry', ST_AsGeoJSON(OLD.geom, 7)::jsonb);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        new_row := (to_jsonb(NEW) - 'geom')
            || jsonb_build_object('geometry', ST_AsGeoJSON(NEW.geom, 7)::jsonb);
    ELSIF TG_OP = 'INSERT' THEN
        -- The new row's boundary is in its table; a later update logs it as "before".
        new_row := to_jsonb(NEW) - 'geom';
    END IF;
    INSERT INTO audit_log (actor_id, actor, action, object_type, object_id, before, after)
    VALUES (who_id, who, kind || '.' || lower(TG_OP), kind,
            coalesce(NEW.code, OLD.code), old_row, new_row);
    RETURN NULL;
END
$$;
CREATE TRIGGER plots_audit AFTER INSERT OR UPDATE OR DELETE ON plots
    FOR EACH ROW EXECUTE FUNCTION audit_row('plot');
CREATE TRIGGER admin_units_audit AFTER INSERT OR UPDATE OR DELETE ON admin_units
    FOR EACH ROW EXECUTE FUNCTION audit_row('admin_unit');
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
    op.execute("DROP TRIGGER admin_units_audit ON admin_units")
    op.execute("DROP TRIGGER plots_audit ON plots")
    op.execute("DROP FUNCTION audit_row()")
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index("ix_audit_log_object", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_keys_user_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("users")
