"""The audit log: who changed what and when, with the object before and after.

Rows are only ever inserted; a trigger (migration 0002) refuses updates, deletes and
truncation unless the transaction declares admin work with :func:`admin_work`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from models.tables import AuditEntry

__all__ = ["admin_work", "read_audit", "record"]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> None:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    session.execute(
        insert(AuditEntry).values(
            actor_id=actor_id,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            before=before,
            after=after,
        )
    )


def admin_work(session: Session) -> None:
    """Allow this transaction to change or prune audit rows (admin maintenance only)."""
    session.execute(text("SET LOCAL skyground.audit_admin = 'on'"))


def read_audit(
    session: Session,
    *,
    object_type: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries (all without it), oldest first; of one type, since a time."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "before": e.before,
            "after": e.after,
        }
        for e in reversed(session.scalars(query).all())
    ]
