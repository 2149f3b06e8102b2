"""The ``skyground`` command line: a thin typer layer over job and query functions."""

from __future__ import annotations

from typing import Annotated

import typer

from models.i18n import negotiate
from models.settings import Settings
from service.cli import admin_units, db, demo, plots, serve
from service.cli._common import Output

__all__ = ["app", "main"]

app = typer.Typer(
    name="skyground",
    help="SkyGround: farm plots from space, sky and ground.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(plots.app, name="plots")
app.add_typer(admin_units.app, name="admin-units")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)


@app.callback()
def _root(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document for machines.")
    ] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Message language: zh-CN (default) or en.")
    ] = None,
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
