"""The raster store's plan: usage by year, source and layer; retention that keeps statistics."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from ingest.store import (
    InvalidRetention,
    RetentionNotSet,
    _in_store,
    months_before,
    prune_store,
    store_usage,
)
from models.auth.audit import read_audit
from service.cli import app
from tests.checksums import table_checksums
from tests.conftest import make_world_dir
from tests.rasters import write_small_cog
from tiles.errors import RasterMissing, RasterOutsideStore
from tiles.layers import resolve_in_store

UTM50 = CRS.from_epsg(32650)
TRANSFORM = Affine(10, 0, 600000, 0, -10, 3100000)
NOW = datetime(2025, 11, 28, 6, 0, tzinfo=UTC)
KEPT_TABLES = ("scenes", "plot_index_stats", "plot_latest", "plots")

#: (source, scene key, acquired at): two old years, a scene just inside and one recent.
SCENES = (
    ("local", "S2-2022", datetime(2022, 6, 1, 3, 0, tzinfo=UTC)),
    ("local", "S2-2023", datetime(2023, 11, 27, 3, 0, tzinfo=UTC)),
    ("drone", "UAV-2023", datetime(2023, 8, 9, 2, 0, tzinfo=UTC)),
    ("local", "S2-2023-KEPT", datetime(2023, 11, 29, 3, 0, tzinfo=UTC)),
    ("local", "S2-2025", datetime(2025, 5, 1, 3, 0, tzinfo=UTC)),
)


@dataclass(frozen=True)
class Asset:
    source: str
    scene_key: str
    year: int
    kind: str
    path: Path


@pytest.fixture()
def store() -> Iterator[Path]:
    home = make_world_dir("skyground-store-")
    yield home / "rasters"
    shutil.rmtree(home, ignore_errors=True)


def _cog(path: Path, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if kind == "truecolor":
        data = rng.integers(1, 255, size=(3, 48, 48), dtype=np.uint8)
        write_small_cog(path, data, crs=UTM50, transform=TRANSFORM, nodata=0)
    else:
        data = rng.integers(-2000, 9000, size=(1, 64, 64), dtype=np.int16)
        write_small_cog(path, data, crs=UTM50, transform=TRANSFORM, nodata=-32768, scale=1e-4)


def build_store(
    engine: Engine, store: Path, scenes: tuple[tuple[str, str, datetime], ...] = SCENES
) -> list[Asset]:
    """Scenes with NDVI, EVI and true-colour COGs, one plot with statistics of every scene."""
    assets: list[Asset] = []
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('P-1',"
                " ST_Multi(ST_MakeEnvelope(111.2, 28.3, 111.201, 28.301, 4326)), 1000)"
            )
        )
        for n, (source, key, acquired_at) in enumerate(scenes):
            scene_id = conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                    " (:source, :key, :at, ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326)))"
                    " RETURNING id"
                ),
                {"source": source, "key": key, "at": acquired_at},
            ).scalar_one()
            for m, kind in enumerate(("NDVI", "EVI", "truecolor")):
                relative = f"{source}/{key}/{kind}.tif"
                path = store / relative
                _cog(path, kind, seed=10 * n + m)
                content = path.read_bytes()
                conn.execute(
                    text(
                        "INSERT INTO raster_assets (scene_id, kind, path, sha256, dtype, scale,"
                        ' "offset", nodata, width, height, size_bytes) VALUES (:scene, :kind,'
                        " :path, :sha, 'int16', 0.0001, 0, -32768, 64, 64, :size)"
                    ),
                    {
                        "scene": scene_id,
                        "kind": kind,
                        "path": relative,
                        "sha": hashlib.sha256(content).hexdigest(),
                        "size": len(content),
                    },
                )
                assets.append(Asset(source, key, acquired_at.year, kind, path))
            conn.execute(
                text(
                    "INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id,"
                    " mean, valid_weight, valid_count, total_weight, clear_fraction,"
                    " masked_shares, flagged) SELECT id, 'NDVI', :at, :source, :scene, 0.5, 6, 6,"
                    " 6, 1, '{}', false FROM plots"
                ),
                {"at": acquired_at, "source": source, "scene": scene_id},
            )
        conn.execute(
            text(
                "INSERT INTO plot_latest (plot_id, index, acquired_at, source, scene_id, mean)"
                " SELECT s.plot_id, s.index, s.acquired_at, s.source, s.scene_id, s.mean"
                " FROM plot_index_stats s ORDER BY s.acquired_at DESC LIMIT 1"
            )
        )
    return assets


def disk_files(store: Path) -> dict[str, int]:
    """Every file under the store and its size, by an independent walk."""
    return {
        Path(folder, name).relative_to(store).as_posix(): os.stat(Path(folder, name)).st_size
        for folder, _, names in os.walk(store)
        for name in names
    }


def hashes(store: Path) -> dict[str, str]:
    return {
        relative: hashlib.sha256((store / relative).read_bytes()).hexdigest()
        for relative in disk_files(store)
    }


def asset_paths(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT path FROM raster_assets")).scalars())


def test_usage_sums_the_files_on_disk_by_year_source_and_layer(db: Engine, store: Path):
    assets = build_store(db, store)
    orphan = store / "local" / "S2-2025" / ".NDVI.tif.tmp-4242"
    orphan.write_bytes(b"x" * 1234)
    with Session(db) as session:
        usage = store_usage(session, store)
    expected: dict[tuple[int, str, str], list[int]] = {}
    for a in assets:
        group = expected.setdefault((a.year, a.source, a.kind), [0, 0])
        group[0] += 1
        group[1] += os.stat(a.path).st_size
    assert {(r.year, r.source, r.kind): [r.files, r.size_bytes] for r in usage.rows} == expected
    assert [(r.year, r.source, r.kind) for r in usage.rows] == sorted(expected)
    on_disk = disk_files(store)
    assert usage.size_bytes + usage.orphan_bytes == sum(on_disk.values())
    assert usage.files + len(usage.orphans) == len(on_disk)
    assert [(o.path, o.size_bytes) for o in usage.orphans] == [
        ("local/S2-2025/.NDVI.tif.tmp-4242", 1234)
    ]
    assert usage.missing == []


def test_usage_lists_a_row_whose_file_is_gone_and_one_outside_the_store(db: Engine, store: Path):
    assets = build_store(db, store)
    assets[0].path.unlink()
    with db.begin() as conn:
        conn.execute(text("UPDATE raster_assets SET path = '../escape.tif' WHERE id = 2"))
    with Session(db) as session:
        usage = store_usage(session, store)
    missing = {(m.path, m.outside) for m in usage.missing}
    assert missing == {("local/S2-2022/NDVI.tif", False), ("../escape.tif", True)}
    # The file the escaping row used to name is now an orphan.
    assert [o.path for o in usage.orphans] == ["local/S2-2022/EVI.tif"]
    assert usage.files == len(assets) - 2


def test_prune_removes_exactly_the_old_cogs_and_keeps_scenes_and_statistics(
    db: Engine, store: Path
):
    assets = build_store(db, store)
    before = table_checksums(db, with_times=True)
    with Session(db) as session:
        result = prune_store(session, store, keep_months=24, now=NOW, actor="test")
    assert result.cutoff == datetime(2023, 11, 28, 6, 0, tzinfo=UTC)
    old = [a for a in assets if a.scene_key in {"S2-2022", "S2-2023", "UAV-2023"}]
    assert (result.scenes, result.rows, result.files) == (3, 9, 9)
    kept = [a for a in assets if a not in old]
    assert sorted(disk_files(store)) == sorted(a.path.relative_to(store).as_posix() for a in kept)
    assert asset_paths(db) == {a.path.relative_to(store).as_posix() for a in kept}
    after = table_checksums(db, with_times=True)
    for table in KEPT_TABLES:
        assert after[table] == before[table], table
    assert after["raster_assets"] != before["raster_assets"]
    # The emptied scene folders are gone; the store and the source folders stay.
    assert not (store / "local" / "S2-2022").exists()
    assert (store / "local" / "S2-2025").is_dir()
    assert result.orphans == []


def test_prune_reports_the_freed_bytes_and_writes_one_audit_entry(db: Engine, store: Path):
    assets = build_store(db, store)
    old_keys = {"S2-2022", "S2-2023", "UAV-2023"}
    freed = sum(os.stat(a.path).st_size for a in assets if a.scene_key in old_keys)
    with Session(db) as session:
        result = prune_store(session, store, keep_months=24, now=NOW, actor="cli:tester")
    assert result.size_bytes == freed
    with Session(db) as session:
        entries = read_audit(session, object_type="raster_store")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["actor"], entry["action"], entry["object_id"]) == (
        "cli:tester",
        "store.prune",
        None,
    )
    assert entry["after"] == {
        "keep_months": 24,
        "cutoff": "2023-11-28T06:00:00+00:00",
        "scenes": 3,
        "rows": 9,
        "files": 9,
        "size_bytes": freed,
        "outside": 0,
    }


def test_prune_dry_run_changes_nothing(db: Engine, store: Path):
    build_store(db, store)
    before, files = table_checksums(db, with_times=True), hashes(store)
    with Session(db) as session:
        result = prune_store(session, store, keep_months=24, now=NOW, actor="t", dry_run=True)
    assert (result.dry_run, result.scenes, result.rows, result.files) == (True, 3, 9, 9)
    assert table_checksums(db, with_times=True) == before
    assert hashes(store) == files


def test_a_second_prune_finds_nothing_to_remove(db: Engine, store: Path):
    build_store(db, store)
    with Session(db) as session:
        prune_store(session, store, keep_months=24, now=NOW, actor="t")
        again = prune_store(session, store, keep_months=24, now=NOW, actor="t")
    assert (again.rows, again.files, again.size_bytes) == (0, 0, 0)
    with Session(db) as session:
        assert len(read_audit(session, object_type="raster_store")) == 1


def test_a_crash_after_the_commit_leaves_orphans_never_missing_files(
    db: Engine, store: Path, monkeypatch: pytest.MonkeyPatch
):
    build_store(db, store)

    def crash(self: Path, missing_ok: bool = False) -> None:
        raise KeyboardInterrupt("killed between the commit and the deletions")

    monkeypatch.setattr(Path, "unlink", crash)
    with Session(db) as session, pytest.raises(KeyboardInterrupt):
        prune_store(session, store, keep_months=24, now=NOW, actor="t")
    monkeypatch.undo()
    with Session(db) as session:
        usage = store_usage(session, store)
        again = prune_store(session, store, keep_months=24, now=NOW, actor="t")
    assert usage.missing == []
    assert len(usage.orphans) == 9
    assert {o.path.split("/")[1] for o in usage.orphans} == {"S2-2022", "S2-2023", "UAV-2023"}
    # Prune reports orphans and leaves them: a running ingest writes its file before its row.
    assert again.rows == 0
    assert [o.path for o in again.orphans] == [o.path for o in usage.orphans]
    assert len(disk_files(store)) == 15


def test_prune_keeps_a_file_outside_the_store_that_an_old_row_names(db: Engine, store: Path):
    build_store(db, store)
    outside = store.parent / "precious.tif"
    outside.write_bytes(b"keep me")
    with db.begin() as conn:
        conn.execute(text("UPDATE raster_assets SET path = '../precious.tif' WHERE id = 1"))
    with Session(db) as session:
        result = prune_store(session, store, keep_months=24, now=NOW, actor="t")
    assert (result.rows, result.outside, result.files) == (9, 1, 8)
    assert outside.read_bytes() == b"keep me"
    assert [o.path for o in result.orphans] == ["local/S2-2022/NDVI.tif"]


@pytest.mark.parametrize("months", [None, 0, -3])
def test_prune_refuses_without_a_valid_retention(db: Engine, store: Path, months: int | None):
    build_store(db, store)
    before = table_checksums(db, with_times=True)
    error = RetentionNotSet if months is None else InvalidRetention
    with Session(db) as session, pytest.raises(error):
        prune_store(session, store, keep_months=months, now=NOW, actor="t")
    assert table_checksums(db, with_times=True) == before


@pytest.mark.parametrize(
    ("now", "months", "cutoff"),
    [
        (datetime(2025, 11, 28, tzinfo=UTC), 24, datetime(2023, 11, 28, tzinfo=UTC)),
        (datetime(2025, 3, 31, tzinfo=UTC), 1, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), 13, datetime(2023, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before_moves_back_whole_calendar_months(now, months, cutoff):
    assert months_before(now, months) == cutoff


def test_months_before_refuses_a_naive_time():
    with pytest.raises(ValueError):
        months_before(datetime(2025, 1, 1), 1)


def test_the_confinement_rule_is_the_one_tiles_serves_by(tmp_path: Path):
    root = tmp_path / "rasters"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.tif").write_bytes(b"1")
    (tmp_path / "secret.tif").write_bytes(b"2")
    (root / "a" / "link.tif").symlink_to(tmp_path / "secret.tif")
    (root / "a" / "inner.tif").symlink_to(root / "a" / "x.tif")
    cases = [
        "a/x.tif",
        "a/../a/x.tif",
        "../secret.tif",
        "a/../../secret.tif",
        str(tmp_path / "secret.tif"),
        "a/link.tif",
        "a/inner.tif",
    ]
    base = root.resolve()
    for relative in cases:
        try:
            served: Path | None = resolve_in_store(root, relative)
        except RasterOutsideStore:
            served = None
        except RasterMissing:  # pragma: no cover - every case names an existing file
            raise
        assert _in_store(base, relative) == served, relative


# --- the command line -------------------------------------------------------------------------


def cli(database_url: str, store: Path, *args: str, retention: str = "") -> Result:
    env = {
        "SKYGROUND_DATABASE_URL": database_url,
        "SKYGROUND_HOME": str(store.parent),
        "SKYGROUND_LANG": "en",
        "SKYGROUND_STORE_RETENTION_MONTHS": retention,
    }
    return CliRunner().invoke(app, ["store", *args], env=env)


def json_of(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output + repr(result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def recent_scenes() -> tuple[tuple[str, str, datetime], ...]:
    """The CLI prunes against the clock: one scene five years old, one ten days old."""
    now = datetime.now(UTC)
    return (
        ("local", "OLD", now - timedelta(days=5 * 366)),
        ("local", "NEW", now - timedelta(days=10)),
    )


def test_cli_usage_json_and_table(db: Engine, store: Path, database_url: str):
    build_store(db, store)
    data = json_of(cli(database_url, store, "usage", "--json"))
    assert data["total"]["size_bytes"] == sum(disk_files(store).values())
    assert data["total"]["files"] == 15
    assert {(r["year"], r["source"], r["kind"]) for r in data["rows"]} >= {
        (2022, "local", "NDVI"),
        (2023, "drone", "truecolor"),
    }
    (store / "stray.tif").write_bytes(b"z")
    shown = cli(database_url, store, "usage")
    assert shown.exit_code == 0, shown.output
    for word in ("Year", "Source", "Layer", "Files", "MiB", "Total", "drone", "2022"):
        assert word in shown.stdout, word
    assert "Orphan files (in the store, named by no row): 1" in shown.stdout
    assert "stray.tif" in shown.stdout


def test_cli_prune_refuses_without_keep_months_or_setting(db: Engine, store: Path, database_url):
    build_store(db, store, recent_scenes())
    before = table_checksums(db, with_times=True)
    result = cli(database_url, store, "prune")
    assert result.exit_code == 1
    assert "--keep-months" in result.stderr
    assert "SKYGROUND_STORE_RETENTION_MONTHS" in result.stderr
    zero = cli(database_url, store, "prune", "--keep-months", "0")
    assert zero.exit_code == 1
    assert "at least 1" in zero.stderr
    assert table_checksums(db, with_times=True) == before


def test_cli_prune_dry_run_then_prune_by_the_setting(db: Engine, store: Path, database_url):
    build_store(db, store, recent_scenes())
    before = table_checksums(db, with_times=True)
    dry = cli(database_url, store, "prune", "--keep-months", "12", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: would remove 3 COG rows and 3 files" in dry.stdout
    assert table_checksums(db, with_times=True) == before
    data = json_of(cli(database_url, store, "prune", "--json", retention="12"))
    assert (data["dry_run"], data["scenes"], data["rows"], data["files"]) == (False, 1, 3, 3)
    assert asset_paths(db) == {f"local/NEW/{k}.tif" for k in ("NDVI", "EVI", "truecolor")}
    assert sorted(disk_files(store)) == sorted(asset_paths(db))
    with Session(db) as session:
        (entry,) = read_audit(session, object_type="raster_store")
    assert entry["actor"].startswith("cli:")
    assert entry["after"]["rows"] == 3


def test_cli_usage_of_an_empty_store_says_so(db: Engine, store: Path, database_url: str):
    shown = cli(database_url, store, "usage")
    assert shown.exit_code == 0, shown.output
    assert "holds no recorded COGs" in shown.stdout
