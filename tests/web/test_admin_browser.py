"""The admin page in the real browser: operators see jobs and schedules, others the 403 text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest import scheduler
from models.auth.users import add_user
from models.i18n import t
from tests.web.conftest import WAIT_MS, WEB_PASSWORD, WEB_USER, Browser, WebWorld

OPERATOR = "wang.operator"


@pytest.fixture(scope="module")
def jobs_world(web_world: WebWorld) -> Iterator[WebWorld]:
    """The web world plus an operator, a schedule and a dead job."""
    with Session(web_world.engine) as session, session.begin():
        add_user(
            session, username=OPERATOR, role="operator", password=WEB_PASSWORD,
            actor="test:web", min_password_length=10,
        )  # fmt: skip
        scheduler.add_schedule(
            session=session, name="daily-scenes", kind="noop", cron="0 6 * * *",
            now=datetime.now(UTC) - timedelta(days=1),
        )  # fmt: skip
    with web_world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (kind, state, attempt, error, run_after, finished_at)"
                " VALUES ('noop', 'dead', 3, 'RuntimeError: STAC API unreachable', now(), now())"
            )
        )
    yield web_world


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin")
    assert urlsplit(page.url).path == "/login"
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)
    page.fill("#login-username", username)
    page.fill("#login-password", WEB_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(lambda url: urlsplit(url).path == "/admin", timeout=WAIT_MS)
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)


def test_operators_see_the_dead_job_and_agronomists_the_403_text(
    browser: Browser, jobs_world: WebWorld, live_server: str
):
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, live_server, WEB_USER)
        assert page.locator("#admin-message").inner_text() == t("web_admin_forbidden", "zh-CN")
        assert page.locator("#jobs-section").is_hidden()
        browser.context.clear_cookies()

        sign_in(page, live_server, OPERATOR)
        assert page.locator("#admin-message").is_hidden()
        dead = page.locator('#jobs-body tr[data-state="dead"]')
        assert dead.count() == 1
        assert t("web_admin_state_dead", "zh-CN") in dead.inner_text()
        assert "RuntimeError: STAC API unreachable" in dead.inner_text()
        assert "3/3" in dead.inner_text()
        assert "daily-scenes" in page.locator("#schedules-body").inner_text()
        assert page.locator("h1").inner_text() == t("web_admin_title", "zh-CN")
        assert browser.guard.blocked == []
        assert errors == []
    finally:
        browser.context.clear_cookies()
        page.close()
