from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from models.settings import ApiSettings, Settings
from service.cli import app, serve
from service.main import create_app


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> dict[str, Any]:
    """Record what serve would do; the database part runs for real against the test one."""
    seen: dict[str, Any] = {}
    monkeypatch.setenv("SKYGROUND_DATABASE_URL", settings.db.database_url.get_secret_value())
    monkeypatch.setenv("SKYGROUND_API_PORT", "8123")

    def fake_run(target: str, **kwargs: Any) -> None:
        seen["target"] = target
        seen.update(kwargs)

    monkeypatch.setattr(serve.uvicorn, "run", fake_run)
    return seen


def test_serve_runs_the_app_factory_with_settings_defaults(calls):
    result = CliRunner().invoke(app, ["--lang", "en", "serve"])
    assert result.exit_code == 0, result.output
    assert calls == {
        "target": "service.main:create_app",
        "factory": True,
        "host": "127.0.0.1",
        "port": 8123,
        "workers": 1,
    }
    assert "SkyGround is serving at http://127.0.0.1:8123 (API docs: " in result.output
    assert "http://127.0.0.1:8123/docs" in result.output


def test_serve_options_override_and_message_defaults_to_chinese(calls):
    result = CliRunner().invoke(app, ["serve", "--host", "::1", "--port", "9001", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert (calls["host"], calls["port"], calls["workers"]) == ("::1", 9001, 2)
    assert "SkyGround 服务地址：http://[::1]:9001" in result.output


def test_serve_json_output(calls):
    result = CliRunner().invoke(app, ["--json", "serve", "--port", "9002"])
    assert result.exit_code == 0, result.output
    assert '"url": "http://127.0.0.1:9002"' in result.output


def test_serve_refuses_a_bad_port(calls):
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code != 0
    assert "target" not in calls


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_http_until_stopped(settings: Settings, db):
    port = _free_port()
    env = {
        **os.environ,
        "SKYGROUND_DATABASE_URL": settings.db.database_url.get_secret_value(),
        "SKYGROUND_LANG": "en",
    }
    command = [sys.executable, "-c", "from service.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, process.poll()
        # Served closed by default: data needs a login or key.
        plots = httpx.get(f"http://127.0.0.1:{port}/api/plots", timeout=5)
        assert plots.status_code == 401
        assert "X-API-Key" in plots.json()["detail"]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert f"SkyGround is serving at http://127.0.0.1:{port}" in output


def test_blocking_routes_share_a_thread_pool_of_the_configured_size(settings: Settings):
    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    configured = settings.model_copy(update={"api": ApiSettings(threads=3)})
    with TestClient(create_app(configured)) as client:
        assert client.portal is not None
        assert client.portal.call(tokens) == 3
        assert client.get("/healthz").status_code == 200
