"""Logging in and out of the web map, and who the caller is (``/api/me``).

``POST /auth/login`` takes JSON (not a form: a cross-site page cannot send JSON with the
browser's credentials without a CORS preflight we never answer) and sets the session cookie:
HttpOnly, SameSite=Lax, Secure when ``SKYGROUND_AUTH_COOKIE_SECURE`` is on.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from models.auth import Unauthenticated
from models.auth.secrets import read_session_token, session_token
from models.auth.sessions import end_session, start_session
from models.auth.users import authenticate_password
from service.auth import SESSION_COOKIE, PrincipalDep, session_secret_of
from service.deps import SessionDep, SettingsDep
from service.routers._common import ERROR_RESPONSES, language_query

__all__ = ["Login", "Me", "router"]

router = APIRouter(tags=["auth"], dependencies=[Depends(language_query)])


class Login(BaseModel):
    """A user name and password."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class Me(BaseModel):
    """The caller as the web map shows it."""

    username: str = Field(description="User name (`anonymous` with anonymous reading).")
    display_name: str | None = Field(default=None)
    role: str | None = Field(description="Role, or null for the anonymous reader.")
    permissions: list[str] = Field(description="What the role allows, e.g. `map:read`.")
    scope: list[str] | None = Field(description="Admin unit codes the caller is limited to.")
    via: str = Field(description="`session`, `key` or `anonymous`.")
    expires_at: datetime | None = Field(default=None, description="End of this web login.")


_AUTH_ERRORS = {
    **ERROR_RESPONSES,
    401: {"description": "Wrong user name or password, or a deactivated account."},
}


@router.post("/auth/login", summary="Log in (sets the session cookie)", responses=_AUTH_ERRORS)
def login(
    body: Login, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> Me:
    """Check the password and start a web session."""
    principal = authenticate_password(session, body.username, body.password)
    assert principal.user_id is not None
    session_id, expires = start_session(session, principal.user_id, settings.auth.session_hours)
    token = session_token(
        session_secret_of(request),
        session_id=session_id,
        user_id=principal.user_id,
        expires=expires,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.auth.cookie_secure,
    )
    scope = list(principal.scope.codes) if principal.scope else None
    return Me(
        username=principal.username,
        role=principal.role,
        permissions=sorted(principal.permissions),
        scope=scope,
        via="session",
        expires_at=expires,
    )


@router.post("/auth/logout", status_code=204, summary="Log out (ends the session)")
def logout(request: Request, session: SessionDep) -> Response:
    """End the session named by the cookie (if any) and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            claims = read_session_token(session_secret_of(request), token)
            end_session(session, claims.session_id)
        except Unauthenticated:
            pass  # an expired or forged cookie: nothing to end, clear it all the same
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/api/me", summary="Who the caller is", responses={**_AUTH_ERRORS})
def me(principal: PrincipalDep) -> Me:
    """User name, role, permissions and scope of the caller."""
    return Me(
        username=principal.username,
        role=principal.role,
        permissions=sorted(principal.permissions),
        scope=list(principal.scope.codes) if principal.scope else None,
        via=principal.via,
    )
