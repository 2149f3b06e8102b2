"""Tables of the SkyGround database (SQLAlchemy 2 declarative, GeoAlchemy2 geometries).

Every geometry is EPSG:4326 with a GiST index. Areas are square metres on the WGS 84
ellipsoid (PostGIS ``geography``). Times are ``timestamptz`` stored in UTC.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ADMIN_LEVELS",
    "JOB_STATES",
    "ROLES",
    "AdminUnit",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Job",
    "Plot",
    "PlotIndexStat",
    "PlotLatest",
    "RasterAsset",
    "Scene",
    "Schedule",
    "User",
    "UserScope",
    "WebSession",
]

ADMIN_LEVELS = ("county", "township", "village")
#: States of a job; ``retrying`` waits for ``run_after``, ``dead`` is the dead-letter state
#: (every attempt failed; ``skyground scheduler retry`` queues it again).
JOB_STATES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled", "dead")
#: Roles of people and machine clients (permissions: :mod:`models.auth.roles`).
ROLES = (
    "viewer",
    "agronomist",
    "extension",
    "land_officer",
    "land_approver",
    "operator",
    "admin",
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a fixed constraint naming scheme (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AdminUnit(Base):
    """County, township or village boundary with its official code."""

    __tablename__ = "admin_units"
    __table_args__ = (
        CheckConstraint("level IN ('county', 'township', 'village')", name="level"),
        Index("ix_admin_units_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id", ondelete="RESTRICT"))
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False
    )
    area_m2: Mapped[float] = mapped_column(Double, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Plot(Base):
    """A field (tea garden) with its boundary; ``code`` is the stable external key."""

    __tablename__ = "plots"
    __table_args__ = (
        Index("ix_plots_village_id", "village_id"),
        Index("ix_plots_cooperative", "cooperative"),
        CheckConstraint("planting_year BETWEEN 1900 AND 2200", name="planting_year"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    cooperative: Mapped[str | None] = mapped_column(Text)
    village_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_units.id", ondelete="SET NULL")
    )
    village_name: Mapped[str | None] = mapped_column(Text)
    crop: Mapped[str | None] = mapped_column(Text)
    variety: Mapped[str | None] = mapped_column(Text)
    planting_year: Mapped[int | None] = mapped_column(SmallInteger)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False
    )
    area_m2: Mapped[float] = mapped_column(Double, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Scene(Base):
    """One acquisition of one source over one tile (or one drone flight)."""

    __tablename__ = "scenes"
    __table_args__ = (
        UniqueConstraint("source", "scene_key"),
        Index("ix_scenes_acquired_at", "acquired_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    scene_key: Mapped[str] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String(32))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tile_id: Mapped[str | None] = mapped_column(String(16))
    orbit: Mapped[int | None] = mapped_column(Integer)
    cloud_cover: Mapped[float | None] = mapped_column(Double)
    clear_fraction: Mapped[float | None] = mapped_column(Double)
    crs: Mapped[str | None] = mapped_column(String(64))
    footprint: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False
    )
    radiometry: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    properties: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    created_at: Mapped[datetime] = _created()


class RasterAsset(Base):
    """A COG of one scene: an index raster or true colour. ``path`` is relative to the store."""

    __tablename__ = "raster_assets"
    __table_args__ = (UniqueConstraint("scene_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    dtype: Mapped[str] = mapped_column(String(16))
    scale: Mapped[float] = mapped_column(Double, server_default=text("1"), nullable=False)
    offset: Mapped[float] = mapped_column(Double, server_default=text("0"), nullable=False)
    nodata: Mapped[float | None] = mapped_column(Double)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created()


class PlotIndexStat(Base):
    """Statistics of one index over one plot at one acquisition time from one source.

    Partitioned by ``RANGE (acquired_at)``, one partition per UTC year
    (``plot_index_stats_pYYYY``, 2015–2040, and ``plot_index_stats_p20_default``): the key
    holds ``acquired_at`` as partitioned keys must. Closed years are rewritten in key order
    (``CLUSTER``) so a plot's series sits on a few pages; see migration 0004 for why. Values
    are in the index's own units (unscaled). Flagged rows are kept.
    """

    __tablename__ = "plot_index_stats"
    __table_args__ = (
        Index("ix_plot_index_stats_scene_id", "scene_id"),
        CheckConstraint(
            "acquired_at >= '1972-01-01 00:00+00' AND acquired_at < '2100-01-01 00:00+00'",
            name="acquired_at",
        ),
        {"postgresql_partition_by": "RANGE (acquired_at)"},
    )

    # No foreign keys (migration 0005): the writer guarantees plot and scene, triggers on
    # plots and scenes delete the rows of a deleted one.
    plot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    index: Mapped[str] = mapped_column(String(16), primary_key=True)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    scene_id: Mapped[int] = mapped_column(BigInteger)
    mean: Mapped[float | None] = mapped_column(Double)
    std: Mapped[float | None] = mapped_column(Double)
    min: Mapped[float | None] = mapped_column(Double)
    max: Mapped[float | None] = mapped_column(Double)
    median: Mapped[float | None] = mapped_column(Double)
    p10: Mapped[float | None] = mapped_column(Double)
    p90: Mapped[float | None] = mapped_column(Double)
    valid_weight: Mapped[float] = mapped_column(Double)
    valid_count: Mapped[int] = mapped_column(Integer)
    total_weight: Mapped[float] = mapped_column(Double)
    clear_fraction: Mapped[float] = mapped_column(Double)
    masked_shares: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), nullable=False)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class PlotLatest(Base):
    """Latest clear (unflagged) value of each index per plot, for map colouring."""

    __tablename__ = "plot_latest"

    # No foreign keys, as in plot_index_stats (migration 0005).
    plot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    index: Mapped[str] = mapped_column(String(16), primary_key=True)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))
    scene_id: Mapped[int] = mapped_column(BigInteger)
    mean: Mapped[float] = mapped_column(Double)


class Job(Base):
    """One run of an ingest, import or maintenance job, with progress for people.

    Scheduled jobs (``schedule_id`` set) are also the scheduler's history: ``attempt`` counts
    from 1, ``run_after`` is when a queued or retrying job may run next.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in JOB_STATES) + ")",
            name="state",
        ),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        CheckConstraint("attempt >= 1", name="attempt"),
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_schedule_id", "schedule_id"),
        Index("ix_jobs_due", "run_after", postgresql_where=text("state IN ('queued', 'retrying')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    progress: Mapped[float] = mapped_column(Double, server_default=text("0"), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    counts: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("1"), nullable=False)
    run_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A person or machine client; without ``user_scopes`` rows it sees the whole county."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")",
            name="role",
        ),
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'", name="username"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    #: argon2 hash (pwdlib); NULL: no password login (machine clients use keys).
    password_hash: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(24))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class UserScope(Base):
    """An admin unit a user is limited to (with every unit below it)."""

    __tablename__ = "user_scopes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    admin_unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True
    )


class ApiKey(Base):
    """A machine client's key: only its SHA-256 is kept; revoked keys stay for the record."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    #: The first characters of the key, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser login; the signed cookie names it, logout or expiry ends it."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who changed what and when; a trigger refuses updates and deletes outside admin work."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    #: The user acting (NULL for the command line or the system, named in ``actor``).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Schedule(Base):
    """A recurring job: run ``kind`` with ``params`` whenever ``cron`` fires in ``timezone``.

    ``cron`` has five fields (minute hour day month weekday); failed runs are tried again up
    to ``max_attempts`` times, waiting ``backoff_seconds`` × 2^(attempt − 1) between tries.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("max_attempts >= 1", name="max_attempts"),
        CheckConstraint("backoff_seconds >= 0", name="backoff_seconds"),
        Index("ix_schedules_next_run_at", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), nullable=False
    )
    cron: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(
        Text, server_default=text("'Asia/Shanghai'"), nullable=False
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), nullable=False)
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("3"), nullable=False)
    backoff_seconds: Mapped[int] = mapped_column(Integer, server_default=text("60"), nullable=False)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
