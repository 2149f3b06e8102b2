"""``/api/jobs``, ``/api/schedules`` and the ``/admin`` page: operators read, others do not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ingest import scheduler
from models.auth.settings import AuthSettings
from models.settings import DatabaseSettings, Settings
from service.main import create_app
from tests.service.auth_world import PASSWORD, Caller

NOW = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def failing(engine: Engine, params: dict[str, object], job_id: object) -> dict[str, object]:
    raise RuntimeError("no scenes today")


@pytest.fixture(scope="module")
def jobs_client(
    engine: Engine, callers: dict[str, Caller], database_url: str, cluster_home: Path
) -> Iterator[TestClient]:
    """Callers of every role, one succeeded and one dead job, and an app without anonymity."""
    scheduler.register("test.failing", failing)
    try:
        with Session(engine) as session, session.begin():
            scheduler.add_schedule(session=session, name="health", kind="noop", cron="0 6 * * *",
                                   now=NOW - timedelta(hours=1))  # fmt: skip
            scheduler.add_schedule(session=session, name="broken", kind="test.failing",
                                   cron="0 6 * * *", max_attempts=1,
                                   now=NOW - timedelta(hours=1))  # fmt: skip
        scheduler.tick(engine, NOW)
    finally:
        scheduler.unregister("test.failing")
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=cluster_home),
        auth=AuthSettings(secret="j" * 40),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_operators_see_jobs_newest_first_with_states_and_errors(
    jobs_client: TestClient, callers: dict[str, Caller]
):
    response = jobs_client.get("/api/jobs", headers=callers["operator"].headers)
    assert response.status_code == 200
    body = response.json()
    assert body["number_matched"] == 2
    by_schedule = {job["schedule"]: job for job in body["jobs"]}
    assert by_schedule["health"]["state"] == "succeeded"
    assert by_schedule["health"]["counts"] == {"noop": 1}
    dead = by_schedule["broken"]
    assert (dead["state"], dead["attempt"], dead["max_attempts"]) == ("dead", 1, 1)
    assert dead["error"] == "RuntimeError: no scenes today"
    assert dead["finished_at"] == "2026-03-02T06:00:00+08:00"
    one = jobs_client.get(f"/api/jobs/{dead['id']}", headers=callers["admin"].headers)
    assert one.status_code == 200 and one.json() == dead


def test_jobs_filter_by_state_and_kind(jobs_client: TestClient, callers: dict[str, Caller]):
    headers = callers["operator"].headers
    dead = jobs_client.get("/api/jobs", params={"state": "dead"}, headers=headers).json()
    assert [job["schedule"] for job in dead["jobs"]] == ["broken"]
    noop = jobs_client.get("/api/jobs", params={"kind": "noop"}, headers=headers).json()
    assert [job["schedule"] for job in noop["jobs"]] == ["health"]
    bad = jobs_client.get("/api/jobs", params={"state": "asleep", "lang": "en"}, headers=headers)
    assert bad.status_code == 400 and "state" in bad.json()["detail"]
    missing = jobs_client.get("/api/jobs/00000000-0000-4000-8000-00000000abcd", headers=headers)
    assert missing.status_code == 404


def test_schedules_show_their_next_run_in_shanghai_time(
    jobs_client: TestClient, callers: dict[str, Caller]
):
    response = jobs_client.get("/api/schedules", headers=callers["operator"].headers)
    assert response.status_code == 200
    health = {s["name"]: s for s in response.json()}["health"]
    assert health["next_run_at"] == "2026-03-03T06:00:00+08:00"
    assert (health["cron"], health["timezone"], health["max_attempts"]) == (
        "0 6 * * *",
        "Asia/Shanghai",
        3,
    )


@pytest.mark.parametrize("path", ["/api/jobs", "/api/schedules"])
def test_viewers_get_403_and_nobody_401(
    jobs_client: TestClient, callers: dict[str, Caller], path: str
):
    assert jobs_client.get(path, headers=callers["viewer"].headers).status_code == 403
    assert jobs_client.get(path, headers=callers["land_officer"].headers).status_code == 403
    assert jobs_client.get(path).status_code == 401


def test_the_admin_page_needs_a_login_and_reads_the_jobs_api(jobs_client: TestClient):
    assert jobs_client.get("/admin", follow_redirects=False).status_code == 303
    login = jobs_client.post("/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert login.status_code == 200
    page = jobs_client.get("/admin")
    assert page.status_code == 200
    assert '<script type="module" src="/static/js/admin.js"></script>' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert jobs_client.get("/api/jobs").status_code == 403  # the page shows web_admin_forbidden
    jobs_client.post("/auth/logout")
    jobs_client.cookies.clear()
    jobs_client.post("/auth/login", json={"username": "operator", "password": PASSWORD})
    assert jobs_client.get("/api/jobs").status_code == 200
    jobs_client.post("/auth/logout")
    jobs_client.cookies.clear()
    assert jobs_client.get("/static/js/admin.js").status_code == 200
    messages = jobs_client.get("/api/ui-messages?lang=en").json()["messages"]
    assert messages["web_admin_forbidden"].startswith("Your role may not see jobs")


def test_running_the_jobs_left_nothing_running(engine: Engine, jobs_client: TestClient):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs WHERE state = 'running'")).scalar() == 0
