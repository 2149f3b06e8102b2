"""Machine clients' API keys: made (shown once), listed by prefix, revoked, recognised.

Only a key's SHA-256 is stored (:mod:`models.auth.secrets`); revoked keys stay for the
record. Every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models.auth.audit import record
from models.auth.errors import KeyNotFound, Unauthenticated
from models.auth.principal import Principal
from models.auth.secrets import NewKey, key_digest, new_api_key
from models.auth.users import principal_of, user_by_name
from models.tables import ApiKey, User

__all__ = ["KeyRecord", "create_key", "list_keys", "principal_for_key", "revoke_key"]

#: ``last_used_at`` of a key is written at most this often (reads stay cheap).
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyRecord:
    """An API key as listed (its prefix, never the secret)."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def create_key(
    session: Session, username: str, name: str, *, actor: str, actor_id: int | None = None
) -> tuple[int, NewKey]:
    """A new API key for ``username``; the secret is returned once and never stored."""
    user = user_by_name(session, username)
    key = new_api_key()
    key_id = session.scalar(
        insert(ApiKey)
        .values(user_id=user.id, name=name, prefix=key.prefix, key_sha256=key.sha256)
        .returning(ApiKey.id)
    )
    assert key_id is not None
    record(
        session, actor=actor, actor_id=actor_id, action="key.create", object_type="api_key",
        object_id=key_id, after={"username": user.username, "name": name, "prefix": key.prefix},
    )  # fmt: skip
    return int(key_id), key


def list_keys(session: Session, username: str | None = None) -> list[KeyRecord]:
    """API keys (revoked ones too), by id; of one user when ``username`` is given."""
    query = select(ApiKey, User.username).join(User, User.id == ApiKey.user_id).order_by(ApiKey.id)
    if username is not None:
        query = query.where(User.id == user_by_name(session, username).id)
    return [
        KeyRecord(
            id=k.id,
            username=name,
            name=k.name,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
            last_used_at=k.last_used_at,
        )
        for k, name in session.execute(query)
    ]


def revoke_key(
    session: Session, ident: str, *, actor: str, actor_id: int | None = None
) -> KeyRecord:
    """Revoke a key by id or by its shown prefix (``sg_xxxxxxx``); revoking twice is a no-op."""
    condition = ApiKey.prefix == ident
    if ident.isdigit():
        condition = ApiKey.id == int(ident)
    matches = session.scalars(select(ApiKey).where(condition)).all()
    if len(matches) != 1:
        raise KeyNotFound(key=ident)
    key = matches[0]
    if key.revoked_at is None:
        key.revoked_at = func.now()
        session.flush()
        record(
            session, actor=actor, actor_id=actor_id, action="key.revoke", object_type="api_key",
            object_id=key.id, before={"revoked": False}, after={"revoked": True},
        )  # fmt: skip
    return next(k for k in list_keys(session) if k.id == key.id)


def principal_for_key(session: Session, secret: str) -> Principal:
    """Who holds this API key.

    Raises:
        Unauthenticated: unknown or revoked key, or an inactive user.
    """
    row = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_sha256 == key_digest(secret))
    ).one_or_none()
    if row is None or row[0].revoked_at is not None or not row[1].active:
        raise Unauthenticated()
    key, user = row
    stale = key.last_used_at is None or key.last_used_at < datetime.now(UTC) - _TOUCH_EVERY
    if stale:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=func.now()))
    return principal_of(session, user, "key")
