from __future__ import annotations

import os
import stat

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from models._alembic import include_object
from models.cluster import EmbeddedCluster
from models.db import current_revision, head_revision
from models.settings import DatabaseSettings
from models.tables import Base


def test_cluster_runs_as_unprivileged_user_on_loopback(cluster_home, database_url):
    cluster = EmbeddedCluster(DatabaseSettings(home=cluster_home, database_url=None))
    status = cluster.status()
    assert status.running
    assert status.port not in (None, 5432)
    owner = os.stat(cluster.data_dir).st_uid
    if os.geteuid() == 0:
        assert owner != 0
    assert stat.S_IMODE(os.stat(cluster.state_file).st_mode) == 0o600
    assert "127.0.0.1" in database_url


def test_schema_is_at_head_with_postgis(engine: Engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_version()")).scalar()


def test_migrations_match_the_models(engine: Engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_geometry_has_srid_4326_and_a_gist_index(engine: Engine):
    with engine.connect() as conn:
        columns = conn.execute(
            text("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns")
        ).all()
        assert {row.srid for row in columns} == {4326}
        for table, column, _ in columns:
            indexed = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t "
                    "AND indexdef ILIKE '%USING gist%' AND indexdef LIKE '%' || :c || '%'"
                ),
                {"t": table, "c": column},
            ).scalar_one()
            assert indexed == 1, (table, column)


def test_home_below_a_private_folder_still_gets_a_cluster(tmp_path):
    # pytest's tmp_path sits below a 0700 folder: the server user cannot enter it.
    home = tmp_path / "home"
    cluster = EmbeddedCluster(DatabaseSettings(home=home, database_url=None), durable=False)
    try:
        assert cluster.start()
        status = cluster.status()
        assert status.running
        if os.geteuid() == 0:
            assert not status.data_dir.is_relative_to(tmp_path)
            assert status.data_dir.is_relative_to("/var/lib/skyground/clusters")
        else:
            assert status.data_dir.is_relative_to(home)
        assert EmbeddedCluster(DatabaseSettings(home=home, database_url=None)).data_dir == (
            status.data_dir
        )
    finally:
        cluster.destroy()
    assert not status.data_dir.exists()


def test_migrations_downgrade_to_nothing_and_back(database_url):
    from alembic import command
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    from models.db import alembic_config, engine_for, migrate

    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS migration_roundtrip")
        conn.exec_driver_sql("CREATE DATABASE migration_roundtrip")
    admin.dispose()
    engine = engine_for(url.set(database="migration_roundtrip").render_as_string(False))
    try:
        assert migrate(engine) == head_revision()
        with engine.connect() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
            conn.commit()
            left = set(inspect(conn).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        assert left == set()
        assert migrate(engine) == head_revision()
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
