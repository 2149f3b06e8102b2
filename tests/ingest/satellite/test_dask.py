"""``skyground ingest satellite --scheduler``: a real Dask cluster on loopback, same results.

The cluster is a ``distributed.LocalCluster`` with a scheduler and two worker *processes*
(spawned, so they import our code from the same environment and reach the test database by
its URL, as remote workers would). Each ingest starts from emptied tables, the same plots
(same ids) and an empty raster store.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ingest.errors import ImplausibleReflectance
from ingest.satellite.executor import DaskExecutor, SchedulerUnreachable, ThreadedWorkers
from models.errors import InvalidParameter
from service.cli import app
from tests.conftest import make_world_dir, truncate_all
from tests.ingest.satellite.conftest import BARBELLINO
from tests.ingest.satellite.test_ingest_local import (
    _env,
    _write_scene,
    cog_hashes,
    data_sums,
    insert_plots,
    run,
)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a scheduler with two single-threaded worker processes on 127.0.0.1."""
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # None still serves HTTP on the fixed port 8787
        memory_limit="2GiB",
        silence_logs=logging.ERROR,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def tasks_run(address: str) -> dict[str, int]:
    """Tasks each worker has executed so far."""
    with Client(address) as client:
        counts: dict[str, int] = client.run(lambda dask_worker: dask_worker.state.executed_count)
    return counts


@pytest.fixture()
def stores() -> Iterator[tuple[Path, Path]]:
    paths = make_world_dir("skyground-local-"), make_world_dir("skyground-dask-")
    yield paths
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def test_a_two_worker_cluster_stores_what_the_in_process_run_stores(
    db: Engine, database_url: str, scheduler: str, stores: tuple[Path, Path]
) -> None:
    local_home, dask_home = stores
    insert_plots(db)
    local = run(database_url, local_home, str(BARBELLINO))
    local_sums, local_files = data_sums(db), cog_hashes(local_home)

    truncate_all(db)
    insert_plots(db)
    before = tasks_run(scheduler)
    remote = run(database_url, dask_home, "--scheduler", scheduler, str(BARBELLINO))
    after = tasks_run(scheduler)
    assert len(after) == 2 and sum(after.values()) - sum(before.values()) == 2  # one per scene

    assert remote == {**local, "job_id": remote["job_id"]}
    assert len(local_files) == 2 * 7
    assert cog_hashes(dask_home) == local_files
    assert data_sums(db) == local_sums
    with db.connect() as conn:
        jobs = conn.execute(text("SELECT kind, state, progress, counts FROM jobs")).all()
    assert [(j.kind, j.state, j.progress) for j in jobs] == [("satellite_ingest", "succeeded", 1.0)]
    assert jobs[0].counts["scenes"] == 2


def test_a_worker_warning_reaches_the_caller(
    db: Engine, database_url: str, scheduler: str, stores: tuple[Path, Path]
) -> None:
    home = stores[1]
    insert_plots(db)
    _write_scene(home / "offset", "S2A2A_20230723_022_Offset", "20190723", dn_add=1000)
    with pytest.warns(ImplausibleReflectance):
        summary = run(database_url, home, "--scheduler", scheduler, str(home / "offset"))
    assert summary["scenes"][0]["radiometry"]["plausibility"]["suggested_offset"] == -1000


def test_a_worker_error_fails_the_job_with_its_message(
    db: Engine, database_url: str, scheduler: str, stores: tuple[Path, Path]
) -> None:
    home = stores[1]
    args = ["ingest", "satellite", "--scheduler", scheduler, "--indices", "NOPE", str(BARBELLINO)]
    result = CliRunner().invoke(app, args, env=_env(database_url, home))
    assert result.exit_code == 1
    with db.connect() as conn:
        state, error = conn.execute(text("SELECT state, error FROM jobs")).one()
    assert state == "failed" and "NOPE" in error
    assert "NOPE" in result.output


def test_an_unreachable_or_malformed_scheduler_is_named() -> None:
    for address in ("127.0.0.1:8786", "tcp://127.0.0.1", "http://127.0.0.1:8786", "tcp://:1"):
        with pytest.raises(InvalidParameter, match="--scheduler"):
            DaskExecutor(address)
    # Port 9 (discard) on loopback: nothing listens there.
    executor = DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=2)
    with pytest.raises(SchedulerUnreachable, match="tcp://127.0.0.1:9"):
        list(executor.map(str, [1]))


def test_workers_with_several_threads_are_warned_about() -> None:
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        with pytest.warns(ThreadedWorkers, match="--nthreads 1"):
            assert list(DaskExecutor(cluster.scheduler_address).map(abs, [-2, 3, -1])) == [2, 3, 1]
