"""Who is asking: users, roles and permissions, scopes, API keys, web sessions, audit log.

The service's one authorisation seam (:mod:`service.auth`) is built on this package; the CLI
manages users with it (``skyground users``).
"""

from models.auth.errors import AuthError, Forbidden, Unauthenticated
from models.auth.principal import Principal, Scope
from models.auth.roles import ROLE_PERMISSIONS, Permission, permissions_of

__all__ = [
    "ROLE_PERMISSIONS",
    "AuthError",
    "Forbidden",
    "Permission",
    "Principal",
    "Scope",
    "Unauthenticated",
    "permissions_of",
]
