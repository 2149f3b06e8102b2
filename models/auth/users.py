"""Users, their scopes and API keys in the database; who a key, password or session is.

Every change writes an audit entry in the same transaction. Users are deactivated, never
deleted, so the audit log keeps naming them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from models.auth.audit import record
from models.auth.errors import (
    BadCredentials,
    KeyNotFound,
    LastAdmin,
    Unauthenticated,
    UnknownRole,
    UserExists,
    UserNotFound,
    WeakPassword,
)
from models.auth.principal import Principal, Scope
from models.auth.secrets import (
    NewKey,
    hash_password,
    key_digest,
    new_api_key,
    verify_password,
)
from models.errors import NotFound
from models.tables import ROLES, AdminUnit, ApiKey, User, UserScope, WebSession

__all__ = [
    "KeyRecord",
    "UserRecord",
    "add_user",
    "authenticate_password",
    "create_key",
    "end_session",
    "get_user",
    "list_keys",
    "list_users",
    "principal_for_key",
    "principal_for_session",
    "revoke_key",
    "scope_of",
    "set_active",
    "set_password",
    "set_role",
    "set_scope",
    "start_session",
]

#: ``last_used_at`` of a key is written at most this often (reads stay cheap).
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class UserRecord:
    """A user as listed (never the password hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    active: bool
    scope: tuple[str, ...]
    keys: int
    has_password: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (also the audit log's before/after)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "scope": list(self.scope),
            "has_password": self.has_password,
        }


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


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(role=role, roles=", ".join(ROLES))


def _check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(minimum=min_length)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        raise UserNotFound(username=username)
    return user


def _scope_codes(session: Session, user_id: int) -> tuple[str, ...]:
    rows = session.scalars(
        select(AdminUnit.code)
        .join(UserScope, UserScope.admin_unit_id == AdminUnit.id)
        .where(UserScope.user_id == user_id)
        .order_by(AdminUnit.code)
    )
    return tuple(rows)


def _record_of(session: Session, user: User) -> UserRecord:
    keys = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    )
    return UserRecord(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
        scope=_scope_codes(session, user.id),
        keys=int(keys or 0),
        has_password=user.password_hash is not None,
    )


def get_user(session: Session, username: str) -> UserRecord:
    """One user by name."""
    return _record_of(session, _user(session, username))


def list_users(session: Session) -> list[UserRecord]:
    """Every user, by name."""
    users = session.scalars(select(User).order_by(User.username)).all()
    return [_record_of(session, u) for u in users]


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str | None,
    actor: str,
    min_password_length: int,
    display_name: str | None = None,
    actor_id: int | None = None,
) -> UserRecord:
    """Create a user (``password`` None: key-only machine client)."""
    _check_role(role)
    if password is not None:
        _check_password(password, min_password_length)
    name = username.lower()
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise UserExists(username=name)
    user = User(
        username=name,
        role=role,
        display_name=display_name,
        password_hash=None if password is None else hash_password(password),
    )
    session.add(user)
    session.flush()
    created = _record_of(session, user)
    record(
        session, actor=actor, actor_id=actor_id, action="user.add", object_type="user",
        object_id=name, after=created.as_dict(),
    )  # fmt: skip
    return created


def _active_unscoped_admins(session: Session) -> int:
    scoped = select(UserScope.user_id).where(UserScope.user_id == User.id).exists()
    count = session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active, ~scoped)
    )
    return int(count or 0)


def _change(
    session: Session,
    user: User,
    action: str,
    actor: str,
    actor_id: int | None,
    apply: Any,
) -> UserRecord:
    """Apply a change to ``user``, refuse it if no admin would be left, audit it."""
    before = _record_of(session, user)
    apply()
    session.flush()
    if before.role == "admin" and _active_unscoped_admins(session) == 0:
        raise LastAdmin(username=user.username)
    after = _record_of(session, user)
    record(
        session, actor=actor, actor_id=actor_id, action=action, object_type="user",
        object_id=user.username, before=before.as_dict(), after=after.as_dict(),
    )  # fmt: skip
    return after


def set_role(
    session: Session, username: str, role: str, *, actor: str, actor_id: int | None = None
) -> UserRecord:
    """Give a user another role."""
    _check_role(role)
    user = _user(session, username)

    def apply() -> None:
        user.role = role
        user.updated_at = func.now()

    return _change(session, user, "user.set_role", actor, actor_id, apply)


def set_scope(
    session: Session, username: str, codes: list[str], *, actor: str, actor_id: int | None = None
) -> UserRecord:
    """Limit a user to these admin units (codes); an empty list gives the whole county."""
    user = _user(session, username)
    ids = []
    for code in codes:
        unit = session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
        if unit is None:
            raise NotFound(kind="@kind_admin_unit", ident=code)
        ids.append(unit)

    def apply() -> None:
        session.execute(delete(UserScope).where(UserScope.user_id == user.id))
        for unit_id in sorted(set(ids)):
            session.execute(insert(UserScope).values(user_id=user.id, admin_unit_id=unit_id))

    return _change(session, user, "user.set_scope", actor, actor_id, apply)


def set_password(
    session: Session,
    username: str,
    password: str,
    *,
    actor: str,
    min_password_length: int,
    actor_id: int | None = None,
) -> UserRecord:
    """Set a new password; the user's open web sessions end."""
    _check_password(password, min_password_length)
    user = _user(session, username)

    def apply() -> None:
        user.password_hash = hash_password(password)
        _end_sessions_of(session, user.id)

    return _change(session, user, "user.set_password", actor, actor_id, apply)


def set_active(
    session: Session, username: str, active: bool, *, actor: str, actor_id: int | None = None
) -> UserRecord:
    """Activate or deactivate a user; deactivation ends their sessions (keys stop working)."""
    user = _user(session, username)

    def apply() -> None:
        user.active = active
        if not active:
            _end_sessions_of(session, user.id)

    return _change(
        session, user, "user.activate" if active else "user.deactivate", actor, actor_id, apply
    )


def scope_of(session: Session, user_id: int) -> Scope | None:
    """The user's scope (granted units and everything below), or None for the whole county."""
    granted = select(UserScope.admin_unit_id.label("id")).where(UserScope.user_id == user_id)
    codes = _scope_codes(session, user_id)
    if not codes:
        return None
    tree = granted.cte("scope_units", recursive=True)
    child = AdminUnit.__table__.alias("child")
    tree = tree.union_all(select(child.c.id).where(child.c.parent_id == tree.c.id))
    ids = frozenset(int(i) for i in session.scalars(select(tree.c.id)))
    return Scope(codes=codes, unit_ids=ids)


def _principal(session: Session, user: User, via: Literal["key", "session"]) -> Principal:
    return Principal.of_user(
        user_id=user.id,
        username=user.username,
        role=user.role,
        via=via,
        scope=scope_of(session, user.id),
    )


def authenticate_password(session: Session, username: str, password: str) -> Principal:
    """The principal of a user name and password; one error for every failure."""
    user = session.scalar(select(User).where(User.username == username.lower()))
    stored = user.password_hash if user is not None else None
    if not verify_password(password, stored) or user is None or not user.active:
        raise BadCredentials()
    return _principal(session, user, "session")


def create_key(
    session: Session, username: str, name: str, *, actor: str, actor_id: int | None = None
) -> tuple[int, NewKey]:
    """A new API key for ``username``; the secret is returned once and never stored."""
    user = _user(session, username)
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
        query = query.where(User.id == _user(session, username).id)
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
    return _principal(session, user, "key")


def start_session(session: Session, user_id: int, hours: float) -> tuple[uuid.UUID, datetime]:
    """A new web session row; its id and expiry."""
    expires = datetime.now(UTC) + timedelta(hours=hours)
    sid = session.scalar(
        insert(WebSession).values(user_id=user_id, expires_at=expires).returning(WebSession.id)
    )
    assert sid is not None
    return sid, expires


def end_session(session: Session, session_id: uuid.UUID) -> None:
    """Log out: the session (and every copy of its cookie) stops working."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )


def _end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )


def principal_for_session(session: Session, session_id: uuid.UUID, user_id: int) -> Principal:
    """Who a valid session token belongs to.

    Raises:
        Unauthenticated: the session ended, expired or belongs to an inactive user.
    """
    user = session.scalar(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.id == session_id,
            WebSession.user_id == user_id,
            WebSession.ended_at.is_(None),
            WebSession.expires_at > func.now(),
            User.active == literal(True),
        )
    )
    if user is None:
        raise Unauthenticated()
    return _principal(session, user, "session")
