"""API keys, password hashes and signed web-session tokens.

* API keys are ``sg_`` + 43 URL-safe characters (256 random bits); only their SHA-256 is
  stored, with the first 10 characters as a visible prefix.
* Passwords are hashed with argon2id (pwdlib's recommended parameters).
* A web session cookie is a JWT (HS256 only; ``alg`` is never taken from the token) naming
  the ``web_sessions`` row (``sid``) and user (``sub``), with an expiry (``exp``); logout
  ends the row, so a copied cookie dies with it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final

import jwt
from pwdlib import PasswordHash

from models.auth.errors import Unauthenticated

__all__ = [
    "KEY_PREFIX",
    "NewKey",
    "SessionClaims",
    "hash_password",
    "key_digest",
    "new_api_key",
    "new_password",
    "read_session_token",
    "session_token",
    "verify_password",
]

KEY_PREFIX: Final = "sg_"
_SHOWN: Final = 10
_ALGORITHM: Final = "HS256"
_AUDIENCE: Final = "skyground-web"


@dataclass(frozen=True)
class NewKey:
    """A freshly made API key: the secret (shown once) and what is stored."""

    secret: str
    prefix: str
    sha256: bytes


def new_api_key() -> NewKey:
    """A new random key (256 bits)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(secret=secret, prefix=secret[:_SHOWN], sha256=key_digest(secret))


def key_digest(secret: str) -> bytes:
    """SHA-256 of a key as stored (keys are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def new_password() -> str:
    """A random password people can type (16 characters, ~95 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; a missing hash still costs one hash (timing)."""
    if stored is None:
        _hasher().hash(password)
        return False
    try:
        return bool(_hasher().verify(password, stored))
    except Exception:  # noqa: BLE001  # a malformed stored hash is a failed login, not a 500
        return False


@dataclass(frozen=True)
class SessionClaims:
    """What a valid session token says."""

    session_id: uuid.UUID
    user_id: int


def session_token(secret: str, *, session_id: uuid.UUID, user_id: int, expires: datetime) -> str:
    """The signed cookie value of a web session."""
    claims = {"sid": str(session_id), "sub": str(user_id), "exp": expires, "aud": _AUDIENCE}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_session_token(secret: str, token: str) -> SessionClaims:
    """The claims of a valid token.

    Raises:
        Unauthenticated: expired, badly signed, another algorithm (``none`` included),
            another audience, or malformed.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "sid", "sub", "aud"]},
        )
        return SessionClaims(session_id=uuid.UUID(claims["sid"]), user_id=int(claims["sub"]))
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        raise Unauthenticated() from None
