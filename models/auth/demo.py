"""The demo's users: one per role, plus a township officer limited to the first township.

Passwords are generated on first creation and kept in ``<home>/demo/logins.json`` (mode
0600) so a re-run shows the same logins and changes no row. Demo users are for a local demo
only; a real deployment adds its users with ``skyground users add``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.auth.secrets import new_password
from models.auth.users import add_user, set_scope
from models.tables import ROLES, AdminUnit, User

__all__ = ["DemoLogin", "ensure_demo_users"]

ACTOR = "demo"
#: The scoped demo user and the township it is limited to (the generated demo's first).
TOWNSHIP_USER = "township-officer"
TOWNSHIP_CODE = "430923100"


@dataclass(frozen=True)
class DemoLogin:
    """A demo user's name, role, area and password."""

    username: str
    role: str
    scope: str | None
    password: str


def _read(path: Path) -> dict[str, DemoLogin]:
    if not path.exists():
        return {}
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {row["username"]: DemoLogin(**row) for row in rows}


def _write(path: Path, logins: list[DemoLogin]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump([asdict(x) for x in logins], handle, ensure_ascii=False, indent=2)
    tmp.replace(path)


def ensure_demo_users(session: Session, path: Path, *, min_password_length: int) -> list[DemoLogin]:
    """Create the demo users that do not exist yet; every demo login, roles in order."""
    known = _read(path)
    township = session.scalar(select(AdminUnit.id).where(AdminUnit.code == TOWNSHIP_CODE))
    wanted: list[tuple[str, str, str | None]] = [(role, role, None) for role in ROLES]
    if township is not None:
        wanted.append((TOWNSHIP_USER, "land_officer", TOWNSHIP_CODE))
    logins = []
    for username, role, scope in wanted:
        exists = session.scalar(select(User.id).where(User.username == username)) is not None
        login = known.get(username)
        if not exists or login is None:
            password = new_password()
            if exists:  # a user from another run whose password file is gone: not ours
                continue
            add_user(
                session, username=username, role=role, password=password, actor=ACTOR,
                min_password_length=min_password_length,
                display_name=f"演示用户 / demo user ({role})",
            )  # fmt: skip
            if scope is not None:
                set_scope(session, username, [scope], actor=ACTOR)
            login = DemoLogin(username=username, role=role, scope=scope, password=password)
        logins.append(login)
    if logins != list(known.values()):
        _write(path, logins)
    return logins
