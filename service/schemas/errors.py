"""The body of every 4xx answer, as ``service.errors`` writes it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ErrorBody", "ValidationErrorBody"]


class ErrorBody(BaseModel):
    """A failed request: ``detail`` names the parameter or object in the caller's language."""

    detail: str = Field(description="What went wrong, in the request's language.")
    error: str | None = Field(default=None, description="Error class, e.g. NotFound.")


class ValidationErrorBody(BaseModel):
    """A request whose parameters do not have the declared types or bounds."""

    detail: str = Field(description="Each bad parameter and why, in the request's language.")
    errors: list[dict[str, Any]] = Field(description="pydantic's error records (English).")
