"""The FastAPI application factory; run with ``uvicorn service.main:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from models.auth import Permission
from models.db import database_url, engine_for
from models.settings import Settings
from service.auth import require
from service.errors import add_exception_handlers
from service.limits import BodyLimitMiddleware
from service.routers import (
    admin,
    admin_units,
    auth,
    health,
    imports,
    jobs,
    legend,
    ogc,
    plots,
    raster_tiles,
    series,
    tiles,
    web,
)

__all__ = ["DOCS_STATIC_URL", "create_app"]

#: Where the Swagger UI files are served from: the users' networks reach CDNs badly.
DOCS_STATIC_URL = "/static/docs"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database engine is created here and disposed at shutdown."""
    settings = settings or Settings.from_env()
    engine = engine_for(database_url(settings.db), pool_size=settings.db.pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool: bound it by the setting, not anyio's 40.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api.threads
        yield
        engine.dispose()

    # FastAPIOffline is FastAPI with /docs served from packaged Swagger UI files (no CDN);
    # ReDoc is left out because its page loads fonts from the web.
    app = FastAPIOffline(
        title="SkyGround",
        summary="Farm plots from space, sky and ground: plots, indices, tiles.",
        version="0.1.0",
        lifespan=lifespan,
        redoc_url=None,
        static_url=DOCS_STATIC_URL,
        # No spec validation badge: it would send the spec's URL to swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.default_lang = settings.region.lang
    add_exception_handlers(app)
    app.add_middleware(BodyLimitMiddleware, api=settings.api, default_lang=settings.region.lang)
    # Every router states who may use it: public ones are listed in service.auth.PUBLIC_PATHS.
    map_read = [Depends(require(Permission.MAP_READ))]
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(admin.router)  # each route requires its own admin permission
    app.include_router(jobs.router)  # each route requires JOBS_READ
    app.include_router(imports.router)  # guarded by its own PARCELS_EDIT dependency
    for router in (series, plots, admin_units, tiles, raster_tiles, legend, ogc):
        app.include_router(router.router, dependencies=map_read)
    web.mount_web(app)
    return app
