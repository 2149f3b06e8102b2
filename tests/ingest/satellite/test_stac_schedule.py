"""A daily ``satellite.search_ingest`` schedule against the loopback STAC API, on fake days.

The scheduler is driven with ``tick(engine, now)``; each fake day the fake STAC API serves
what has been "published" so far (:meth:`FakeStac.add`).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ingest import scheduler
from ingest.satellite.sources._area import plots_bbox
from ingest.satellite.sources.job import SearchIngestParams
from models.errors import InvalidParameter
from models.queries.jobs import list_jobs
from tests.conftest import make_world_dir
from tests.ingest.conftest import CliRun, json_of
from tests.ingest.satellite.fake_stac import FakeItem, FakeStac
from tests.ingest.satellite.test_ingest_local import data_sums

KIND = "satellite.search_ingest"


@pytest.fixture()
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SKYGROUND_HOME of the scheduler (this process) and the STAC settings for the fake."""
    path = make_world_dir("skyground-stac-schedule-")
    monkeypatch.setenv("SKYGROUND_HOME", str(path))
    monkeypatch.setenv("SKYGROUND_LANG", "en")
    monkeypatch.setenv("SKYGROUND_STAC_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("SKYGROUND_STAC_ALLOW_HTTP", "true")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def published(day: datetime, clip_date: str) -> FakeItem:
    """An Earth Search v1 item acquired at 10:20 UTC on ``day`` (pixels of ``clip_date``)."""
    return FakeItem(
        f"S2A_32TNR_{day:%Y%m%d}_0_L2A", clip_date, "es1", f"{day:%Y-%m-%d}T10:20:31Z",
        properties={"s2:processing_baseline": "02.13", "sat:relative_orbit": 22,
                    "eo:cloud_cover": 3.0, "earthsearch:boa_offset_applied": False},
    )  # fmt: skip


def search_jobs(engine: Engine) -> list[Any]:
    with Session(engine) as session:
        return list_jobs(session=session, kind=KIND).items


def ingest_sums(engine: Engine) -> dict[str, str]:
    """Checksums of the data tables; the schedule's next run moves every day by design."""
    sums = data_sums(engine)
    sums.pop("schedules")
    return sums


def scene_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT scene_key FROM scenes ORDER BY 1")).scalars())


def next_run_at(engine: Engine, name: str) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT next_run_at FROM schedules WHERE name = :n"), {"n": name}
        ).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_daily_job_ingests_each_new_scene_once(
    plots: Engine, home: Path, cli: CliRun, tmp_path: Path
) -> None:
    with FakeStac(tmp_path / "served", []) as server:
        params = f'{{"stac_url": "{server.url}", "area": {list(plots_bbox(plots))}}}'
        added = cli("--json", "scheduler", "add", "daily-s2", "--kind", KIND,
                    "--cron", "0 6 * * *", "--params", params)  # fmt: skip
        assert added.exit_code == 0, added.output
        assert json_of(added)["schedule"]["kind"] == KIND
        day1 = next_run_at(plots, "daily-s2")  # 06:00 Beijing time, 22:00 UTC
        first = published(day1 - timedelta(days=2), "20190723")
        server.add(first)

        report = scheduler.tick(plots, day1)
        assert len(report.succeeded) == 1, search_jobs(plots)[0].error
        assert scene_keys(plots) == [f"{first.item_id}_{day1 - timedelta(days=2):%Y%m%d}"]
        [job] = search_jobs(plots)
        assert (job.counts["found"], job.counts["new"], job.counts["skipped"]) == (1, 1, 0)
        assert job.counts["end"] == f"{day1:%Y-%m-%d}"

        # Day 2: a new scene is published; only it is downloaded and ingested.
        day2 = day1 + timedelta(days=1)
        second = published(day2, "20170703")
        server.add(second)
        server.log.clear()
        assert len(scheduler.tick(plots, day2).succeeded) == 1
        job = search_jobs(plots)[0]
        assert (job.counts["found"], job.counts["new"], job.counts["skipped"]) == (2, 1, 1)
        assert job.counts["scenes"] == [f"{second.item_id}_{day2:%Y%m%d}"]
        assert len(scene_keys(plots)) == 2
        assert {r["path"].split("/")[2] for r in server.asset_requests()} == {second.item_id}

        # Day 3: nothing new; nothing downloaded, no data table changes.
        before = ingest_sums(plots)
        server.log.clear()
        assert len(scheduler.tick(plots, day2 + timedelta(days=1)).succeeded) == 1
        job = search_jobs(plots)[0]
        assert (job.counts["found"], job.counts["new"], job.counts["skipped"]) == (2, 0, 2)
        assert job.counts["ingest_job"] is None
        assert server.asset_requests() == []
        assert ingest_sums(plots) == before
    assert [j.state for j in search_jobs(plots)] == ["succeeded"] * 3


def test_job_whose_stac_api_refuses_retries_then_lands_in_dead_letter(
    db: Engine, home: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    now = datetime.fromisoformat("2026-03-01T22:00:00+00:00")
    with Session(db) as session, session.begin():
        scheduler.add_schedule(
            session=session, name="refused", kind=KIND, cron="0 6 * * *",
            params={"stac_url": url, "area": [10.0, 46.0, 10.1, 46.1]},
            max_attempts=2, backoff_seconds=1, now=now - timedelta(hours=1),
        )  # fmt: skip
    first = scheduler.tick(db, now)
    [job] = search_jobs(db)
    assert first.retrying == [job.id] and (job.state, job.attempt) == ("retrying", 2)
    assert job.run_after == now + timedelta(seconds=1)
    last = scheduler.tick(db, now + timedelta(seconds=1))
    [job] = search_jobs(db)
    assert last.dead == [job.id] and job.state == "dead"
    assert job.error is not None and f"Cannot search the STAC API {url}" in job.error


@pytest.mark.parametrize(
    "params",
    [{}, {"plots": True, "area": [10, 46, 11, 47]}, {"area": [11, 46, 10, 47]},
     {"plots": True, "region": "x"}, {"plots": True, "max_cloud": 101}],
)  # fmt: skip
def test_params_need_exactly_one_valid_area_and_known_keys(params: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        SearchIngestParams.parse(params)
