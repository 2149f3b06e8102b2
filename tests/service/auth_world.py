"""Users of every role over the service world, made with the real user functions.

One key per user; ``township`` is a land officer limited to township 1 (villages 1 and 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.auth.keys import create_key
from models.auth.users import add_user, set_scope
from models.tables import ROLES
from tests.service.world import TOWNSHIP_1

PASSWORD = "correct horse battery"
ACTOR = "test:auth-world"


@dataclass(frozen=True)
class Caller:
    """A user and the key that proves it."""

    username: str
    role: str
    key: str
    scoped: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def add_callers(engine: Engine) -> dict[str, Caller]:
    """One user per role (named after it) plus ``township``; callers by user name."""
    callers: dict[str, Caller] = {}
    specs = [(role, role, False) for role in ROLES] + [("township", "land_officer", True)]
    with Session(engine) as session, session.begin():
        for username, role, scoped in specs:
            add_user(
                session, username=username, role=role, password=PASSWORD, actor=ACTOR,
                min_password_length=10,
            )  # fmt: skip
            if scoped:
                set_scope(session, username, [TOWNSHIP_1], actor=ACTOR)
            _, key = create_key(session, username, f"{username}-test", actor=ACTOR)
            callers[username] = Caller(username, role, key.secret, scoped)
    return callers
