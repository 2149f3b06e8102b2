"""Users and their scopes in the database; who a password or a user row is.

API keys are in :mod:`models.auth.keys`, web sessions in :mod:`models.auth.sessions`.

Every change writes an audit entry in the same transaction. Users are deactivated, never
deleted, so the audit log keeps naming them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from models.auth.audit import record
from models.auth.errors import (
    BadCredentials,
    LastAdmin,
    UnknownRole,
    UserExists,
    UserNotFound,
    WeakPassword,
)
from models.auth.principal import Principal, Scope
from models.auth.secrets import (
    hash_password,
    verify_password,
)
from models.errors import NotFound
from models.tables import ROLES, AdminUnit, ApiKey, User, UserScope, WebSession

__all__ = [
    "UserRecord",
    "add_user",
    "authenticate_password",
    "get_user",
    "list_users",
    "principal_of",
    "scope_of",
    "set_active",
    "set_password",
    "set_role",
    "set_scope",
    "user_by_name",
]


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


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(role=role, roles=", ".join(ROLES))


def _check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(minimum=min_length)


def user_by_name(session: Session, username: str) -> User:
    """The user row of ``username`` (any case); :class:`UserNotFound` if there is none."""
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
    return _record_of(session, user_by_name(session, username))


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
    user = user_by_name(session, username)

    def apply() -> None:
        user.role = role
        user.updated_at = func.now()

    return _change(session, user, "user.set_role", actor, actor_id, apply)


def set_scope(
    session: Session, username: str, codes: list[str], *, actor: str, actor_id: int | None = None
) -> UserRecord:
    """Limit a user to these admin units (codes); an empty list gives the whole county."""
    user = user_by_name(session, username)
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
    user = user_by_name(session, username)

    def apply() -> None:
        user.password_hash = hash_password(password)
        _end_sessions_of(session, user.id)

    return _change(session, user, "user.set_password", actor, actor_id, apply)


def set_active(
    session: Session, username: str, active: bool, *, actor: str, actor_id: int | None = None
) -> UserRecord:
    """Activate or deactivate a user; deactivation ends their sessions (keys stop working)."""
    user = user_by_name(session, username)

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


def principal_of(session: Session, user: User, via: Literal["key", "session"]) -> Principal:
    """The principal of a user row, with its role's permissions and its scope."""
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
    return principal_of(session, user, "session")


def _end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )
