"""Content checksums of every SkyGround table, for "nothing changed" assertions."""

from __future__ import annotations

from sqlalchemy import Engine, text

from models.tables import Base

TIME_COLUMNS = {"created_at", "updated_at", "started_at", "finished_at"}


def table_checksums(engine: Engine, *, with_times: bool = False) -> dict[str, str]:
    """md5 of each table's rows ordered by primary key, timestamps left out unless asked."""
    sums: dict[str, str] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c.name for c in table.columns if with_times or c.name not in TIME_COLUMNS]
            key = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            cols = ", ".join(f'"{c}"' for c in columns)
            # Geometries compare by their EWKB hex, which the row text cast already gives.
            sql = (
                f"SELECT md5(coalesce(string_agg(row_text, E'\\n'), '')) FROM "
                f'(SELECT ROW({cols})::text AS row_text FROM "{table.name}" ORDER BY {key}) r'
            )
            sums[table.name] = conn.execute(text(sql)).scalar_one()
    return sums


def primary_keys(engine: Engine, table: str, key: str = "id") -> list[object]:
    """Every primary key of ``table`` in order."""
    with engine.connect() as conn:
        return list(conn.execute(text(f'SELECT "{key}" FROM "{table}" ORDER BY 1')).scalars())
