"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.settings import Settings
from service.errors import request_language

__all__ = ["LangDep", "SessionDep", "SettingsDep", "get_session", "get_settings"]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request, committed when the endpoint returns without error."""
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
#: ``scope="function"``: the commit runs when the endpoint returns, before the response is
#: sent, so a failed commit (e.g. PostgreSQL going away) still becomes a 503 instead of a
#: 200 whose changes were lost, or a broken connection.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
LangDep = Annotated[str, Depends(request_language)]
