"""Filters shared by the alembic environment and the schema-drift test."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers

__all__ = ["include_object"]


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave PostGIS's own tables and partition children out of autogenerate."""
    if type_ == "table" and reflected and compare_to is None:
        if name == "spatial_ref_sys" or (name is not None and "_p20" in name):
            return False
    return bool(
        alembic_helpers.include_object(obj, name, type_, reflected, compare_to)  # type: ignore[no-untyped-call]
    )
