"""``/api/users`` and ``/api/audit``: who may use SkyGround and what they changed (admin).

Read-only: users, roles, areas and keys are changed with ``skyground users`` for now.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from models.auth import Permission
from models.auth.audit import read_audit
from models.auth.users import list_users
from service.auth import require
from service.deps import SessionDep
from service.routers._common import ERROR_RESPONSES, language_query

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["admin"], dependencies=[Depends(language_query)])


class UserOut(BaseModel):
    """A user as admins see it (never a password hash or key)."""

    username: str
    display_name: str | None
    role: str
    active: bool
    scope: list[str] = Field(description="Admin unit codes the user is limited to; [] = all.")
    keys: int = Field(description="Active API keys.")
    has_password: bool


class AuditOut(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get(
    "/users",
    summary="Users, roles and areas",
    dependencies=[Depends(require(Permission.USERS_MANAGE))],
    responses=ERROR_RESPONSES,
)
def users(session: SessionDep) -> list[UserOut]:
    """Every user, by name."""
    return [UserOut(**u.as_dict(), keys=u.keys) for u in list_users(session)]


@router.get(
    "/audit",
    summary="The audit log",
    dependencies=[Depends(require(Permission.AUDIT_READ))],
    responses=ERROR_RESPONSES,
)
def audit(
    session: SessionDep,
    object_type: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z_]+$", description="e.g. user, api_key")
    ] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """The newest ``limit`` entries (of one object type, since a time), oldest first."""
    rows = read_audit(session, object_type=object_type, since=since, limit=limit)
    return [AuditOut(**row) for row in rows]
