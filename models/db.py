"""Engines, sessions, database creation, migrations, backup and restore.

``prepare_database`` is the one entry point every command uses: with the embedded cluster it
starts it if needed; in both cases it makes sure PostGIS exists and the schema is at head.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from models.cluster import DATABASE, EmbeddedCluster, find_pg_bindir
from models.errors import ClusterError, DatabaseUnavailable, PostgisMissing
from models.settings import DatabaseSettings

__all__ = [
    "act_as",
    "alembic_config",
    "backup",
    "current_revision",
    "database_url",
    "engine_for",
    "head_revision",
    "migrate",
    "prepare_database",
    "prepared_revision",
    "restore",
    "session_scope",
]


def database_url(settings: DatabaseSettings) -> str:
    """The URL to connect to: the configured server or the running embedded cluster."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return EmbeddedCluster(settings).url()


def engine_for(url: str, *, pool_size: int = 5, actor: str | None = None) -> Engine:
    """A pooled engine; ``pool_pre_ping`` survives PostgreSQL restarts.

    ``actor`` names who changes data through this engine in the audit log (the command
    line's ``cli:<user>``); the service names each request's caller per transaction instead
    (:func:`act_as`).
    """
    connect_args: dict[str, object] = {"connect_timeout": 10, "application_name": "skyground"}
    if actor is not None:
        connect_args["options"] = f"-c skyground.actor={_option_value(actor)}"
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _option_value(value: str) -> str:
    # libpq splits "options" on spaces and treats backslash as the escape character.
    return "".join(c if c.isalnum() or c in ":._-@" else "_" for c in value)


def act_as(session: Session, actor: str, actor_id: int | None = None) -> None:
    """Name ``actor`` (and user id) in the audit log for the rest of this transaction."""
    session.execute(
        text(
            "SELECT set_config('skyground.actor', :a, true),"
            " set_config('skyground.actor_id', :i, true)"
        ),
        {"a": actor, "i": "" if actor_id is None else str(actor_id)},
    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def _ensure_database(url: str) -> None:
    """Create the target database if the server lacks it (embedded cluster only)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def _ensure_postgis(conn: Connection, database: str) -> None:
    has = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar()
    if has:
        return
    try:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.commit()
    except (ProgrammingError, OperationalError) as exc:
        conn.rollback()
        raise PostgisMissing(database=database, detail=str(exc.orig).strip()) from exc


def alembic_config() -> Config:
    """A fresh Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> str:
    """Create PostGIS if missing and upgrade the schema; returns the revision reached."""
    with engine.connect() as conn:
        _ensure_postgis(conn, str(engine.url.database))
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
    reached = current_revision(engine)
    assert reached is not None
    return reached


def prepare_database(settings: DatabaseSettings, *, durable: bool = True) -> str:
    """Start the embedded cluster if it is the one in use, ensure PostGIS and migrate.

    Returns the URL to connect to.
    """
    if settings.embedded:
        cluster = EmbeddedCluster(settings, durable=durable)
        cluster.start()
        url = cluster.url()
        _ensure_database(url)
    else:
        url = database_url(settings)
    engine = engine_for(url, pool_size=1)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise DatabaseUnavailable() from exc
    finally:
        engine.dispose()
    return url


def prepared_revision(settings: DatabaseSettings) -> str:
    """Prepare the database (see :func:`prepare_database`) and return its schema revision."""
    engine = engine_for(prepare_database(settings), pool_size=1)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    assert revision is not None
    return revision


def _libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = [
        "--host",
        parsed.host or "127.0.0.1",
        "--port",
        str(parsed.port or 5432),
        "--username",
        parsed.username or "",
        "--dbname",
        parsed.database or DATABASE,
    ]
    env = {"PGPASSWORD": parsed.password or "", "PGCONNECT_TIMEOUT": "10"}
    return args, env


def _run_client(program: str, args: list[str], env: dict[str, str], action: str) -> None:
    binary = find_pg_bindir(DatabaseSettings().pg_bindir) / program
    result = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ClusterError(action=action, detail=" | ".join(tail))


def backup(settings: DatabaseSettings, target: Path) -> int:
    """Dump the whole database (custom format) to ``target``; returns its size in bytes."""
    args, env = _libpq_args(prepare_database(settings))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    _run_client(
        "pg_dump", [*args, "--format=custom", "--no-owner", "--file", str(partial)], env, "backup"
    )
    partial.replace(target)
    return target.stat().st_size


def restore(settings: DatabaseSettings, source: Path) -> None:
    """Replace the database with the dump in ``source`` (embedded: a new database)."""
    url = prepare_database(settings)
    parsed = make_url(url)
    if settings.embedded:
        # A dropped and re-created database takes the dump exactly, extension included.
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
        finally:
            admin.dispose()
        options = ["--no-owner", "--exit-on-error"]
    else:
        options = ["--no-owner", "--clean", "--if-exists", "--exit-on-error"]
    args, env = _libpq_args(url)
    _run_client("pg_restore", [*args, *options, str(source)], env, "restore")
