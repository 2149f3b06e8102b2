"""``GET /healthz``: liveness plus a database round trip."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(session: SessionDep) -> JSONResponse:
    """200 with the schema revision when the database answers; 503 otherwise."""
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return JSONResponse({"status": "ok", "database": "ok", "revision": revision})
