"""Failures of authentication and authorisation (messages in ``models/i18n/auth.toml``)."""

from __future__ import annotations

from models.errors import Conflict, InvalidParameter, NotFound, SkyGroundError

__all__ = [
    "AuthError",
    "BadCredentials",
    "Forbidden",
    "KeyNotFound",
    "LastAdmin",
    "Unauthenticated",
    "UnknownRole",
    "UserExists",
    "UserNotFound",
    "WeakPassword",
]


class AuthError(SkyGroundError):
    """Base of the failures of :mod:`models.auth`."""


class Unauthenticated(AuthError):
    """No valid credentials: no key, session or token, or an expired, revoked or forged one."""

    key = "auth_error_unauthenticated"


class BadCredentials(Unauthenticated):
    """A login with an unknown user name, a wrong password or an inactive user (one message)."""

    key = "auth_error_bad_credentials"


class Forbidden(AuthError):
    """Known caller without the permission, or the object lies outside the caller's scope."""

    key = "auth_error_forbidden"


class UserNotFound(AuthError, NotFound):
    """No user of that name."""

    key = "auth_error_user_not_found"


class KeyNotFound(AuthError, NotFound):
    """No API key with that id or prefix."""

    key = "auth_error_key_not_found"


class UserExists(AuthError, Conflict):
    """A user of that name already exists."""

    key = "auth_error_user_exists"


class UnknownRole(AuthError, InvalidParameter):
    """A role name that is not one of :data:`models.tables.ROLES`."""

    key = "auth_error_unknown_role"


class WeakPassword(AuthError, InvalidParameter):
    """A password shorter than the minimum length."""

    key = "auth_error_weak_password"


class LastAdmin(AuthError, Conflict):
    """The change would leave no active, unscoped admin."""

    key = "auth_error_last_admin"
