from __future__ import annotations

from sqlalchemy import text

from tests.checksums import table_checksums


def test_checksum_changes_when_a_row_changes(db):
    before = table_checksums(db)
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('X1', "
                "ST_Multi(ST_GeomFromText('POLYGON((111 28,111.001 28,111.001 28.001,111 28))',"
                " 4326)), 1)"
            )
        )
    after = table_checksums(db)
    assert after["plots"] != before["plots"]
    assert after["admin_units"] == before["admin_units"]
