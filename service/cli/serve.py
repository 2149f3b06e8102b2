"""``skyground serve``: prepare the database, then run the HTTP service under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.markup import escape

from models.db import prepared_revision
from service.cli._common import handle_errors, help_text, output

__all__ = ["APP_FACTORY", "serve", "service_url"]

#: Import string of the app factory; a string so that ``--workers`` > 1 can import it anew.
APP_FACTORY = "service.main:create_app"


def service_url(host: str, port: int) -> str:
    """The base URL for ``host``/``port`` (IPv6 literals in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(help=help_text("cli_serve_host")),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help=help_text("cli_serve_port")),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help=help_text("cli_serve_workers")),
    ] = None,
) -> None:
    """Run the HTTP service (API and docs at /docs) until stopped with Ctrl+C."""
    out = output(ctx)
    api = out.settings.api
    host = host or api.host
    port = port or api.port
    workers = workers or api.workers
    with handle_errors(out):
        # Embedded cluster: started here if needed; in both cases the schema goes to head.
        revision = prepared_revision(out.settings.db)
    base = service_url(host, port)
    out.say("serve_database_ready", revision=revision)
    out.say("serve_listening", url=escape(base), docs=escape(f"{base}/docs"))
    out.result({"url": base, "docs": f"{base}/docs", "workers": workers, "revision": revision})
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers)
