"""The caller of one request or command: who, with which permissions, limited to which units."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from models.auth.roles import Permission, permissions_of

__all__ = ["ANONYMOUS_READER", "Principal", "Scope"]


@dataclass(frozen=True)
class Scope:
    """Admin units a user is limited to: the ones granted and every unit below them.

    Plots count as inside when their village is one of :attr:`unit_ids`; plots without a
    village are outside every scope.
    """

    codes: tuple[str, ...]
    unit_ids: frozenset[int]

    @property
    def key(self) -> str:
        """A short stable key of the unit set, for caches shared by callers of one scope."""
        joined = ",".join(str(i) for i in sorted(self.unit_ids))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Principal:
    """An authenticated user (by key or web session), or the anonymous map reader."""

    username: str
    role: str | None
    via: Literal["key", "session", "anonymous", "cli"]
    user_id: int | None = None
    scope: Scope | None = None
    permissions: frozenset[Permission] = field(default=frozenset())

    @classmethod
    def of_user(
        cls,
        *,
        user_id: int,
        username: str,
        role: str,
        via: Literal["key", "session"],
        scope: Scope | None,
    ) -> Principal:
        """A user's principal with the permissions of their role."""
        return cls(
            username=username,
            role=role,
            via=via,
            user_id=user_id,
            scope=scope,
            permissions=permissions_of(role),
        )

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission``."""
        return permission in self.permissions

    @property
    def scope_key(self) -> str:
        """``all`` for the whole county, else the scope's key (tile caches are keyed by it)."""
        return "all" if self.scope is None else self.scope.key

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.via}:{self.username}"


#: The caller without credentials when ``SKYGROUND_AUTH_ANONYMOUS_READ`` opens the map.
ANONYMOUS_READER = Principal(
    username="anonymous", role=None, via="anonymous", permissions=frozenset({Permission.MAP_READ})
)
