"""The ``skyground`` command line: a thin typer layer over job and query functions.

Help texts come from the catalogue (``models/i18n/cli.toml``) in the language of
``SKYGROUND_LANG`` (``SKYGROUND_LANG=en skyground --help``); ``--lang`` sets the language of
messages and output. See :func:`service.cli._common.help_text`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from models.i18n import negotiate
from models.settings import Settings
from service.cli import admin_units, db, demo, ingest, plots, scheduler, serve, store, users
from service.cli._common import Output, help_text

__all__ = ["app", "main"]

app = typer.Typer(
    name="skyground",
    help=help_text("cli_app"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(plots.app, name="plots")
app.add_typer(admin_units.app, name="admin-units")
app.add_typer(ingest.app, name="ingest")
app.add_typer(users.app, name="users")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(store.app, name="store")
app.command("serve", help=help_text("cli_serve"))(serve.serve)
app.command("demo", help=help_text("cli_demo"))(demo.demo)


@app.callback()
def _root(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=help_text("cli_opt_json"))] = False,
    lang: Annotated[str | None, typer.Option("--lang", help=help_text("cli_opt_lang"))] = None,
) -> None:
    settings = Settings.from_env()
    ctx.obj = Output(
        json_mode=json_output,
        lang=negotiate(lang, settings.region.lang),
        settings=settings,
    )


def main() -> None:
    """Entry point of the ``skyground`` script."""
    app()
