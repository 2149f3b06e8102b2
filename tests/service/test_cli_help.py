"""``skyground --help`` speaks the catalogue: every help text comes from ``cli*.toml``.

Typer builds help when ``service.cli`` is imported, in the language ``SKYGROUND_LANG`` names,
so each language's help is rendered by ``CliRunner`` in a fresh interpreter started with the
variable set (one interpreter per language: importing the CLI takes seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from models.i18n import LANGUAGES, placeholders, t

ROOT = Path(__file__).resolve().parents[2]

IMPORT_OPTIONS = (
    "cli_import_path",
    "cli_import_layer",
    "cli_import_crs",
    "cli_import_encoding",
    "cli_import_gcj02",
    "cli_import_map",
    "cli_import_mapping",
    "cli_import_xy_order",
    "cli_import_no_area_check",
    "cli_import_dry_run",
)

#: Each command's help and the catalogue keys whose text it must show.
HELP: dict[tuple[str, ...], tuple[str, ...]] = {
    (): (
        "cli_app",
        "cli_opt_json",
        "cli_opt_lang",
        "cli_serve",
        "cli_demo",
        "cli_db",
        "cli_plots",
        "cli_admin_units",
        "cli_store",
        "cli_scheduler",
    ),
    ("db",): (
        "cli_db",
        "cli_db_start",
        "cli_db_stop",
        "cli_db_status",
        "cli_db_migrate",
        "cli_db_url",
        "cli_db_cluster_statistics",
        "cli_db_backup",
        "cli_db_restore",
    ),
    ("db", "start"): ("cli_db_start",),
    ("db", "stop"): ("cli_db_stop",),
    ("db", "status"): ("cli_db_status",),
    ("db", "migrate"): ("cli_db_migrate",),
    ("db", "url"): ("cli_db_url",),
    ("db", "cluster-statistics"): ("cli_db_cluster_statistics", "cli_db_cluster_statistics_year"),
    ("db", "backup"): ("cli_db_backup", "cli_db_backup_target"),
    ("db", "restore"): ("cli_db_restore", "cli_db_restore_source", "cli_db_restore_force"),
    ("plots",): ("cli_plots", "cli_plots_import"),
    ("plots", "import"): (
        "cli_plots_import",
        *IMPORT_OPTIONS,
        "cli_plots_import_retire_missing",
    ),
    ("admin-units",): ("cli_admin_units", "cli_admin_units_import"),
    ("admin-units", "import"): (
        "cli_admin_units_import",
        "cli_admin_units_import_level",
        "cli_admin_units_import_parent_code_field",
        *IMPORT_OPTIONS,
    ),
    ("serve",): ("cli_serve", "cli_serve_host", "cli_serve_port", "cli_serve_workers"),
    ("demo",): (
        "cli_demo",
        "cli_demo_serve",
        "cli_demo_seed",
        "cli_demo_imagery",
        "cli_demo_seasonal",
    ),
    ("store",): ("cli_store", "cli_store_usage", "cli_store_prune"),
    ("store", "usage"): ("cli_store_usage", "cli_opt_json"),
    ("store", "prune"): (
        "cli_store_prune",
        "cli_store_opt_keep_months",
        "cli_store_opt_dry_run",
        "cli_opt_json",
    ),
    ("scheduler",): (
        "cli_scheduler",
        "cli_scheduler_run",
        "cli_scheduler_add",
        "cli_scheduler_list",
        "cli_scheduler_jobs",
        "cli_scheduler_retry",
    ),
    ("scheduler", "run"): ("cli_scheduler_run", "cli_scheduler_once", "cli_scheduler_poll"),
    ("scheduler", "add"): (
        "cli_scheduler_add",
        "cli_scheduler_opt_name",
        "cli_scheduler_opt_kind",
        "cli_scheduler_opt_cron",
        "cli_scheduler_opt_params",
        "cli_scheduler_opt_timezone",
        "cli_scheduler_opt_max_attempts",
        "cli_scheduler_opt_backoff",
    ),
    ("scheduler", "list"): ("cli_scheduler_list",),
    ("scheduler", "jobs"): (
        "cli_scheduler_jobs",
        "cli_scheduler_opt_state",
        "cli_scheduler_opt_kind_filter",
        "cli_scheduler_opt_limit",
    ),
    ("scheduler", "retry"): ("cli_scheduler_retry", "cli_scheduler_opt_job"),
}

#: Catalogue files holding only help texts (every key listed in :data:`HELP`).
HELP_FILES = ("cli.toml", "cli_store.toml", "cli_scheduler.toml")

#: Wide enough that no help text wraps, so each appears verbatim.
WIDE = 250
#: Terminal widths to check for cropped lines (without folding, Chinese help crops at every
#: width from 69 to 101 columns); below 69 typer crops long option names in any language.
WIDTHS = (70, 80, 90, 100, 120, 160)

RENDER = """
import json, sys
from typer.testing import CliRunner
from service.cli import app

runner = CliRunner()
shown = []
for width, args in json.loads(sys.argv[1]):
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": str(width)})
    shown.append([width, args, result.exit_code, result.output])
print(json.dumps(shown))
"""


def environment(lang: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SKYGROUND_LANG", "COLUMNS")}
    if lang is not None:
        env["SKYGROUND_LANG"] = lang
    return env


@cache
def rendered(lang: str) -> dict[tuple[int, tuple[str, ...]], str]:
    """``--help`` of every command at every width, rendered with ``SKYGROUND_LANG=lang``."""
    requests = [[width, list(args)] for width in (WIDE, *WIDTHS) for args in HELP]
    process = subprocess.run(
        [sys.executable, "-c", RENDER, json.dumps(requests)],
        env=environment(lang),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    shown = {}
    for width, args, exit_code, output in json.loads(process.stdout):
        assert exit_code == 0, (width, args, output)
        shown[width, tuple(args)] = output
    return shown


def cli_messages() -> dict[str, dict[str, str]]:
    messages: dict[str, dict[str, str]] = {}
    for name in HELP_FILES:
        text = resources.files("models.i18n").joinpath(name).read_text(encoding="utf-8")
        messages.update(tomllib.loads(text))
    return messages


def test_cli_help_messages_exist_in_every_language_and_are_all_shown():
    messages = cli_messages()
    for key, texts in messages.items():
        assert key.startswith("cli_"), key
        assert set(texts) == set(LANGUAGES), key
        assert placeholders(texts["zh-CN"]) == placeholders(texts["en"]) == set(), key
        # Typer reads help as rich markup, where square brackets are tags.
        assert "[" not in texts["zh-CN"] + texts["en"], key
    shown = {key for keys in HELP.values() for key in keys}
    assert shown == set(messages)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("args", list(HELP), ids=lambda args: " ".join(args) or "skyground")
def test_help_is_in_the_language_of_skyground_lang(lang: str, args: tuple[str, ...]):
    other = next(language for language in LANGUAGES if language != lang)
    output = rendered(lang)[WIDE, args]
    for key in HELP[args]:
        assert t(key, lang) in output, (key, output)
    assert t(HELP[args][0], other) not in output


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_is_never_cropped(lang: str):
    """Long Chinese lines fold instead of losing their end to "…" (see ``_fold_help_text``)."""
    cropped = [
        (width, " ".join(args), line)
        for (width, args), output in rendered(lang).items()
        for line in output.splitlines()
        if "…" in line
    ]
    assert not cropped


def test_python_m_service_cli_without_skyground_lang_helps_in_chinese():
    process = subprocess.run(
        [sys.executable, "-m", "service.cli", "--help"],
        env=environment(None),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert t("cli_app", "zh-CN") in process.stdout
    assert t("cli_app", "en") not in process.stdout
