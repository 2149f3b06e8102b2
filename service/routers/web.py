"""The web map: ``/`` (the page), ``/static`` (its files) and ``/api/ui-messages`` (its text).

``/admin`` is the operators' page of jobs and schedules, served the same way.

Every file the page loads is served from here, MapLibre GL JS and ECharts included
(``static/vendor/``, fetched by ``make setup``): the users' networks reach foreign CDNs badly
or not at all. A Content-Security-Policy header makes the browser itself refuse anything
else, so a stray external URL fails loudly in development instead of silently in the field.
The one exception is Tianditu's basemap, and only with ``SKYGROUND_TIANDITU_KEY`` set: the page
configuration then names its tile sources and the policy allows exactly its hosts.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import json
import os
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import Scope

from models.i18n import DEFAULT_LANGUAGE, catalogue, negotiate
from models.settings import WebSettings
from service.auth import OptionalPrincipalDep
from service.deps import SettingsDep
from service.routers import _tianditu

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "UiMessages",
    "content_security_policy",
    "mount_web",
    "page_config",
    "router",
]

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"

#: The page's configuration block in index.html, filled in by :func:`index_page`.
_CONFIG_BLOCK: Final = '<script type="application/json" id="skyground-config">{}</script>'


def content_security_policy(tile_hosts: tuple[str, ...] = ()) -> str:
    """The page's policy: same origin only, plus ``tile_hosts`` for basemap tiles.

    MapLibre runs its workers from blob: URLs and ECharts writes inline styles into its
    tooltips. MapLibre fetches raster tiles with ``fetch()`` (connect-src) and decodes them as
    images (img-src), so basemap hosts are added to both.
    """
    extra = "".join(f" {host}" for host in tile_hosts)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            f"img-src 'self' data: blob:{extra}",
            "style-src 'self' 'unsafe-inline'",
            f"connect-src 'self'{extra}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'self'",
        ]
    )


#: The policy without a basemap: nothing may come from another host.
CONTENT_SECURITY_POLICY: Final = content_security_policy()

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

#: Headers of our HTML pages: self-only policy, revalidated, no type sniffing.
_PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


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


def page_config(web: WebSettings) -> dict[str, object]:
    """What the page's map needs from the settings: ``{"basemap": {"sources": …} | None}``.

    The Tianditu key is in the tile URLs: browser keys travel with every tile request.
    """
    if web.tianditu_key is None:
        return {"basemap": None}
    return {"basemap": {"sources": _tianditu.raster_sources(web.tianditu_key)}}


def _page_template() -> str:
    # Read on every request, as StaticFiles does: an edited page shows on reload.
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    if _CONFIG_BLOCK not in html:
        raise RuntimeError(f"{STATIC_DIR / 'index.html'} lacks {_CONFIG_BLOCK}")
    return html


def _login_redirect(request: Request) -> RedirectResponse:
    """To the login page, coming back here (with the query) afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page() -> HTMLResponse:
    """The login form (it posts JSON to ``/auth/login``, then goes to ``next``)."""
    html = (STATIC_DIR / "login.html").read_text(encoding="utf-8")
    return HTMLResponse(html, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.get("/admin", include_in_schema=False, response_model=None)
def admin_page(
    request: Request, principal: OptionalPrincipalDep
) -> HTMLResponse | RedirectResponse:
    """Jobs and schedules (the page needs a login; its data, ``/api/jobs``, needs JOBS_READ)."""
    if principal is None:
        return _login_redirect(request)
    html = (STATIC_DIR / "admin.html").read_text(encoding="utf-8")
    return HTMLResponse(html, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.get("/", include_in_schema=False, response_model=None)
def index_page(
    request: Request, settings: SettingsDep, principal: OptionalPrincipalDep
) -> HTMLResponse | RedirectResponse:
    """The web map page, with its configuration and the matching Content-Security-Policy.

    Without a login (and without anonymous reading) the browser is sent to ``/login``.
    """
    if principal is None:
        return _login_redirect(request)
    # "<" escaped, so no value can close the data block (</script>) or open a comment.
    config = json.dumps(page_config(settings.web), ensure_ascii=False).replace("<", "\\u003c")
    html = _page_template().replace(_CONFIG_BLOCK, _CONFIG_BLOCK.replace("{}", config))
    hosts = _tianditu.HOSTS if settings.web.tianditu_key is not None else ()
    return HTMLResponse(
        html,
        media_type="text/html; charset=utf-8",
        headers={**_PAGE_HEADERS, "Content-Security-Policy": content_security_policy(hosts)},
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
