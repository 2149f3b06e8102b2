"""Web sessions: a login starts one, logout ends it, a signed cookie names it.

The cookie (:func:`models.auth.secrets.session_token`) only names the row; the row decides
whether the session is still valid, so logout, a password change or deactivation end every
copy of the cookie at once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from models.auth.errors import Unauthenticated
from models.auth.principal import Principal
from models.auth.users import principal_of
from models.tables import User, WebSession

__all__ = ["end_session", "principal_for_session", "start_session"]


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
    return principal_of(session, user, "session")
