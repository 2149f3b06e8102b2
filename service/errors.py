"""One map from SkyGround errors to HTTP statuses, and the handlers that apply it.

4xx bodies name the problem in the caller's language; 5xx bodies are generic and the
traceback goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from ingest.errors import IngestError
from models.auth.errors import Forbidden, Unauthenticated
from models.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidParameter,
    NotFound,
    SkyGroundError,
)
from models.i18n import catalogue, negotiate, t

__all__ = ["STATUS_BY_ERROR", "add_exception_handlers", "request_language", "validation_reason"]

log = logging.getLogger("skyground.service")

STATUS_BY_ERROR: dict[type[SkyGroundError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    InvalidParameter: 400,
    Conflict: 409,
    DatabaseUnavailable: 503,
    # A file that cannot be imported (unreadable, invalid features, over a limit).
    IngestError: 422,
}


def request_language(request: Request) -> str:
    """``?lang=`` first, then ``Accept-Language``, else the deployment default."""
    default = getattr(request.app.state, "default_lang", "zh-CN")
    return negotiate(
        request.query_params.get("lang") or request.headers.get("accept-language"), default
    )


def validation_reason(item: Mapping[str, Any], lang: str) -> str:
    """A request validation failure's reason from the catalogue (``validation_<type>``).

    Falls back to pydantic's English message for error types the catalogue lacks.
    """
    key = f"validation_{item.get('type')}"
    if key in catalogue():
        try:
            return t(key, lang, **dict(item.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            pass
    return str(item.get("msg", ""))


def _status_for(error: SkyGroundError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400 if getattr(error, "client_error", False) else 500


def add_exception_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(SkyGroundError)
    async def _skyground(request: Request, error: SkyGroundError) -> JSONResponse:
        status = _status_for(error)
        lang = request_language(request)
        if status >= 500:
            log.error("request failed: %s", request.url.path, exc_info=error)
            return JSONResponse({"detail": t("error_internal", lang)}, status_code=status)
        # 401 names the schemes a client can answer with (RFC 9110 §11.6.1).
        headers = {"WWW-Authenticate": 'Bearer realm="skyground"'} if status == 401 else None
        return JSONResponse(
            {"detail": error.message(lang), "error": type(error).__name__},
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        lang = request_language(request)
        problems = []
        for item in error.errors():
            name = ".".join(
                str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body")
            )
            reason = validation_reason(item, lang)
            problems.append(t("error_invalid_parameter", lang, name=name, reason=reason))
        # jsonable_encoder: an error's ctx may hold exception objects json cannot write.
        return JSONResponse(
            {"detail": "; ".join(problems), "errors": jsonable_encoder(error.errors())},
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, error: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", error.orig)
        return JSONResponse(
            {"detail": t("error_database_unavailable", request_language(request))},
            status_code=503,
        )

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, error: DBAPIError) -> JSONResponse:
        log.error("database error on %s", request.url.path, exc_info=error)
        return JSONResponse(
            {"detail": t("error_internal", request_language(request))}, status_code=500
        )
