"""The one authorisation seam: who is asking (key, session or nobody) and may they.

Every router is mounted with :func:`require` for one :class:`~models.auth.Permission` (or is
listed in :data:`PUBLIC_PATHS`); handlers that read restricted objects take the caller's
scope from :data:`ScopeDep`. Credentials, in order:

* ``X-API-Key: sg_…`` (machine clients, QGIS, GDAL) or ``Authorization: Bearer sg_…``;
* the ``skyground_session`` cookie set by ``POST /auth/login`` (the web map; the browser
  sends it with tile requests too).

A request with bad credentials gets 401 even where anonymous reading is open; a browser's
stale session cookie is the one exception (it is ignored and the caller is anonymous).
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader

from models.auth import Forbidden, Permission, Principal, Scope, Unauthenticated
from models.auth.keys import principal_for_key
from models.auth.principal import ANONYMOUS_READER
from models.auth.secrets import KEY_PREFIX, read_session_token
from models.auth.sessions import principal_for_session
from models.auth.settings import session_secret
from service.deps import SessionDep, SettingsDep

__all__ = [
    "API_KEY_HEADER",
    "PUBLIC_PATHS",
    "SESSION_COOKIE",
    "OptionalPrincipalDep",
    "PrincipalDep",
    "ScopeDep",
    "UnitIdsDep",
    "current_principal",
    "require",
    "session_secret_of",
]

API_KEY_HEADER: Final = "X-API-Key"
SESSION_COOKIE: Final = "skyground_session"

#: Paths served to everybody: health, the login page and its form, the UI texts and static
#: files the login page needs, and the API documentation (no data in it).
PUBLIC_PATHS: Final = frozenset(
    {"/healthz", "/login", "/auth/login", "/auth/logout", "/api/ui-messages", "/docs",
     "/openapi.json"}
)  # fmt: skip

# Declared for the OpenAPI document (security schemes); the checks are done below.
_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="apiKey")
_cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session")


def session_secret_of(request: Request) -> str:
    """The app's session-signing secret, read (or created) on first use."""
    state = request.app.state
    secret = getattr(state, "session_secret", None)
    if secret is None:
        settings = state.settings
        secret = state.session_secret = session_secret(settings.auth, settings.db.home)
    return str(secret)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: Annotated[str | None, Depends(_key_scheme)] = None,
    cookie: Annotated[str | None, Depends(_cookie_scheme)] = None,
) -> Principal:
    """The caller; anonymous only when ``SKYGROUND_AUTH_ANONYMOUS_READ`` is on.

    Raises:
        Unauthenticated: no credentials (and no anonymous reading), or bad ones.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    principal = _authenticate(request, session, settings, key, cookie)
    request.state.principal = principal
    return principal


def _authenticate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: str | None,
    cookie: str | None,
) -> Principal:
    bearer = _bearer(request)
    if key is not None or (bearer is not None and bearer.startswith(KEY_PREFIX)):
        return principal_for_key(session, key if key is not None else str(bearer))
    token = bearer if bearer is not None else cookie
    if token is not None:
        try:
            claims = read_session_token(session_secret_of(request), token)
            return principal_for_session(session, claims.session_id, claims.user_id)
        except Unauthenticated:
            if bearer is not None or not settings.auth.anonymous_read:
                raise
    if settings.auth.anonymous_read:
        return ANONYMOUS_READER
    raise Unauthenticated()


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def optional_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: Annotated[str | None, Depends(_key_scheme)] = None,
    cookie: Annotated[str | None, Depends(_cookie_scheme)] = None,
) -> Principal | None:
    """The caller, or None where :func:`current_principal` would answer 401 (pages)."""
    try:
        return current_principal(request, session, settings, key, cookie)
    except Unauthenticated:
        return None


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that lets through callers whose role grants ``permission``."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            raise Forbidden()
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    return check


def _scope(principal: PrincipalDep) -> Scope | None:
    return principal.scope


def _unit_ids(principal: PrincipalDep) -> frozenset[int] | None:
    return None if principal.scope is None else principal.scope.unit_ids


ScopeDep = Annotated[Scope | None, Depends(_scope)]
#: Admin unit ids the caller may see (None: all); plots count by their village.
UnitIdsDep = Annotated[frozenset[int] | None, Depends(_unit_ids)]
