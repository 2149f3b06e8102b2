"""``skyground db``: start/stop/status, backup and restore into a new home, external servers."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from models.cluster import EmbeddedCluster
from models.db import engine_for, prepare_database
from models.errors import PostgisMissing
from models.settings import DatabaseSettings
from service.cli import app
from tests.checksums import table_checksums
from tests.conftest import make_world_dir

runner = CliRunner()


def _seed(engine):
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO admin_units (code, name, level, geom, area_m2) VALUES "
                "('430923', '安化县', 'county', ST_Multi(ST_GeomFromText("
                "'POLYGON((111 28,112 28,112 29,111 29,111 28))', 4326)), 1e9)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO plots (code, name, owner, geom, area_m2, attributes) VALUES "
                "('P-1', '高马二溪茶园', '刘', ST_Multi(ST_GeomFromText("
                "'POLYGON((111.2 28.4,111.201 28.4,111.201 28.401,111.2 28.4))', 4326)), 5000,"
                ' \'{"坡向": "南"}\')'
            )
        )


def test_backup_then_restore_into_a_new_home_keeps_every_row(db, database_url, tmp_path):
    _seed(db)
    before = table_checksums(db, with_times=True)
    dump = tmp_path / "skyground.dump"
    env = {"SKYGROUND_DATABASE_URL": database_url}
    result = runner.invoke(app, ["--json", "db", "backup", str(dump)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["size_bytes"] == dump.stat().st_size > 0

    home = make_world_dir("skyground-restore-")
    env2 = {"SKYGROUND_DATABASE_URL": "", "SKYGROUND_HOME": str(home)}
    try:
        started = runner.invoke(app, ["--json", "db", "start"], env=env2)
        assert started.exit_code == 0, started.output
        assert json.loads(started.stdout)["running"] is True
        restored = runner.invoke(app, ["db", "restore", str(dump)], env=env2)
        assert restored.exit_code == 0, restored.output
        cluster = EmbeddedCluster(DatabaseSettings(home=home, database_url=None))
        engine2 = engine_for(cluster.url())
        try:
            assert table_checksums(engine2, with_times=True) == before
        finally:
            engine2.dispose()
        again = runner.invoke(app, ["--lang", "en", "db", "restore", str(dump)], env=env2)
        assert again.exit_code == 1
        assert "--force" in again.stderr
        stopped = runner.invoke(app, ["--json", "db", "stop"], env=env2)
        assert json.loads(stopped.stdout)["stopped"] is True
        status = runner.invoke(app, ["--json", "db", "status"], env=env2)
        assert status.exit_code == 3
        assert json.loads(status.stdout)["running"] is False
    finally:
        EmbeddedCluster(DatabaseSettings(home=home, database_url=None)).destroy()
        shutil.rmtree(home, ignore_errors=True)


def test_restore_of_a_missing_file_fails_clearly(database_url, tmp_path):
    missing = tmp_path / "nope.dump"
    result = runner.invoke(
        app, ["db", "restore", str(missing)], env={"SKYGROUND_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "nope.dump" in result.stderr


def test_external_server_without_postgis_is_named_clearly(database_url):
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS plain_db")
        conn.exec_driver_sql("DROP ROLE IF EXISTS plain_user")
        conn.exec_driver_sql("CREATE ROLE plain_user LOGIN PASSWORD 'pw-for-test'")
        conn.exec_driver_sql("CREATE DATABASE plain_db OWNER plain_user")
    admin.dispose()
    external = url.set(database="plain_db", username="plain_user", password="pw-for-test")
    settings = DatabaseSettings(database_url=external.render_as_string(hide_password=False))
    with pytest.raises(PostgisMissing) as caught:
        prepare_database(settings)
    assert "plain_db" in caught.value.message("en")
    assert "CREATE EXTENSION postgis" in caught.value.message("en")
    assert "PostGIS" in caught.value.message()
