"""The web map: ``/`` (the page), ``/static`` (its files) and ``/api/ui-messages`` (its text).

Every file the page loads is served from here, MapLibre GL JS and ECharts included
(``static/vendor/``, fetched by ``make setup``): the users' networks reach foreign CDNs badly
or not at all. A Content-Security-Policy header makes the browser itself refuse anything
else, so a stray external URL fails loudly in development instead of silently in the field.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import os
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import Scope

from models.i18n import DEFAULT_LANGUAGE, catalogue, negotiate

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "UiMessages", "mount_web", "router"]

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"

#: Same origin only. MapLibre runs its workers from blob: URLs and ECharts writes inline
#: styles into its tooltips; nothing may come from another host (Tianditu, when a key is
#: configured later, has to be added to img-src here).
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "img-src 'self' data: blob:",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)

# Our own table, not the machine's /etc/mime.types, so every host serves the same types.
_MEDIA_TYPES: Final = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}

router = APIRouter(tags=["web map"])


class UiMessages(BaseModel):
    """The web map's texts in one language, from the message catalogue (``web_*`` keys)."""

    lang: str = Field(description="Language of the texts: zh-CN or en.")
    messages: dict[str, str] = Field(
        description="Text by key; ``{name}`` placeholders are filled in by the page."
    )


@cache
def _web_keys() -> tuple[str, ...]:
    text = resources.files("models.i18n").joinpath("web.toml").read_text(encoding="utf-8")
    return tuple(tomllib.loads(text))


class _StaticFiles(StaticFiles):
    """StaticFiles with fixed media types and no caching of our own (changing) files."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = _MEDIA_TYPES.get(Path(full_path).suffix.lower())
        if media_type is not None:
            charset = "; charset=utf-8" if media_type.startswith(("text/", "image/svg")) else ""
            response.headers["content-type"] = media_type + charset
        # Pinned vendor files may be cached; ours are revalidated (ETag) on every load.
        if not Path(full_path).resolve().is_relative_to(STATIC_DIR / "vendor"):
            response.headers["cache-control"] = "no-cache"
        response.headers["x-content-type-options"] = "nosniff"
        return response


@router.get("/", include_in_schema=False)
def index_page() -> FileResponse:
    """The web map page."""
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/api/ui-messages", response_model=UiMessages, summary="Texts of the web map")
def ui_messages(
    request: Request,
    lang: Annotated[
        str | None,
        Query(
            max_length=35,
            description="zh-CN or en; without it the deployment's default language "
            "(SKYGROUND_LANG, zh-CN). The browser's Accept-Language is not used: the map is "
            "Chinese unless English is asked for.",
        ),
    ] = None,
) -> JSONResponse:
    """Every ``web_*`` message of the catalogue in one language."""
    default = getattr(request.app.state, "default_lang", DEFAULT_LANGUAGE)
    chosen = negotiate(lang, default)
    messages = {key: _raw(key, chosen) for key in _web_keys()}
    return JSONResponse(UiMessages(lang=chosen, messages=messages).model_dump())


def _raw(key: str, lang: str) -> str:
    # Unformatted: the page fills the placeholders.
    texts = catalogue()[key]
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]


def mount_web(app: FastAPI) -> None:
    """Add the page, its messages and ``/static`` to ``app``.

    ``/static/docs`` (Swagger UI, mounted by FastAPIOffline before this) keeps precedence.
    """
    app.include_router(router)
    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
