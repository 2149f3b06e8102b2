"""Roles and what each may do. One table; routes ask for a permission, never for a role.

Roles build on each other where the work does: an agronomist can do what a viewer can, an
extension officer what an agronomist can; a land approver what a land officer can. The
operator runs the machinery; the admin can do everything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from models.tables import ROLES

__all__ = ["ROLE_PERMISSIONS", "Permission", "permissions_of"]


class Permission(StrEnum):
    """What a route may require."""

    MAP_READ = "map:read"  # plots, admin units, scenes, tiles, series
    NOTES_WRITE = "notes:write"
    ALERTS_MANAGE = "alerts:manage"
    REPORTS_READ = "reports:read"
    EXPORTS = "exports:read"
    PARCELS_EDIT = "parcels:edit"  # upload, check, edit
    PARCELS_APPROVE = "parcels:approve"
    INGEST_RUN = "ingest:run"
    STATIONS_MANAGE = "stations:manage"
    KEYS_MANAGE = "keys:manage"
    JOBS_READ = "jobs:read"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"


_VIEWER: Final = frozenset({Permission.MAP_READ})
_AGRONOMIST: Final = _VIEWER | {Permission.NOTES_WRITE, Permission.ALERTS_MANAGE}
_EXTENSION: Final = _AGRONOMIST | {Permission.REPORTS_READ, Permission.EXPORTS}
_LAND_OFFICER: Final = _VIEWER | {Permission.PARCELS_EDIT}
_LAND_APPROVER: Final = _LAND_OFFICER | {Permission.PARCELS_APPROVE}
_OPERATOR: Final = _VIEWER | {
    Permission.INGEST_RUN,
    Permission.STATIONS_MANAGE,
    Permission.KEYS_MANAGE,
    Permission.JOBS_READ,
}

ROLE_PERMISSIONS: Final[dict[str, frozenset[Permission]]] = {
    "viewer": _VIEWER,
    "agronomist": _AGRONOMIST,
    "extension": _EXTENSION,
    "land_officer": _LAND_OFFICER,
    "land_approver": _LAND_APPROVER,
    "operator": _OPERATOR,
    "admin": frozenset(Permission),
}
assert tuple(ROLE_PERMISSIONS) == ROLES, "every role of the table has its permissions"


def permissions_of(role: str) -> frozenset[Permission]:
    """The permissions of ``role`` (none for an unknown role)."""
    return ROLE_PERMISSIONS.get(role, frozenset())
