"""Request body caps enforced while the body streams in (pure ASGI middleware).

FastAPI and Starlette read a whole multipart body before the endpoint runs, so the cap must
sit below them: a ``Content-Length`` over the cap gets 413 at once, before any byte is read;
a chunked body is counted as it arrives and gets 413 as soon as the cap is passed, and the
application never receives a byte more. Upload routes (:data:`UPLOAD_PATHS`) have their own,
larger cap. The 413 body is JSON ``{"detail": ...}`` in the caller's language.
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.i18n import negotiate, t
from models.settings import ApiSettings

__all__ = ["PLOTS_IMPORT_PATH", "UPLOAD_PATHS", "BodyLimitMiddleware", "body_limit"]

#: The plot upload route.
PLOTS_IMPORT_PATH: Final = "/api/plots/import"
#: Routes that take files, capped by ``SKYGROUND_API_MAX_UPLOAD_BYTES``.
UPLOAD_PATHS: Final = frozenset({PLOTS_IMPORT_PATH})


class _BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes its cap."""


def body_limit(path: str, api: ApiSettings) -> int:
    """The body cap of a request path in bytes."""
    return api.max_upload_bytes if path in UPLOAD_PATHS else api.max_body_bytes


def _language(scope: Scope, default: str) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    requested = (query.get("lang") or [None])[0] or headers.get("accept-language")
    return negotiate(requested, default)


class BodyLimitMiddleware:
    """Answer 413 to bodies over the path's cap, counting streamed bytes."""

    def __init__(self, app: ASGIApp, *, api: ApiSettings, default_lang: str = "zh-CN") -> None:
        """Wrap ``app`` with the caps of ``api`` (messages default to ``default_lang``)."""
        self.app = app
        self.api = api
        self.default_lang = default_lang

    async def _refuse(
        self, scope: Scope, send: Send, status: int, key: str, **params: object
    ) -> None:
        detail = t(key, _language(scope, self.default_lang), **params)
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, stopping its body at the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path, self.api)
        params = {"path": path, "limit": limit, "limit_mib": round(limit / 2**20, 2)}
        for name, value in scope["headers"]:
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await self._refuse(
                        scope, send, 400, "upload_error_bad_length", value=value.decode("latin-1")
                    )
                    return
                if declared > limit:
                    await self._refuse(scope, send, 413, "upload_error_body_too_large", **params)
                    return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Once the cap is passed the app's own answer (an error it made of the
            # interrupted body) is dropped: the caller gets the 413.
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # _BodyTooLarge itself, or whatever the app (or a task group) made of it.
            if not exceeded:
                raise
        if exceeded:
            if started:
                # A response had begun before the body passed the cap: nothing to replace.
                return
            await self._refuse(scope, send, 413, "upload_error_body_too_large", **params)
