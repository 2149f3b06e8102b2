"""The FastAPI application factory; run with ``uvicorn service.main:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from models.db import database_url, engine_for
from models.settings import Settings
from service.errors import add_exception_handlers
from service.routers import health

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database engine is created here and disposed at shutdown."""
    settings = settings or Settings.from_env()
    engine = engine_for(database_url(settings.db), pool_size=settings.db.pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="SkyGround",
        summary="Farm plots from space, sky and ground: plots, indices, tiles.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.default_lang = settings.region.lang
    add_exception_handlers(app)
    app.include_router(health.router)
    return app
