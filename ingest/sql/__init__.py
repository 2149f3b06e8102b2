"""Static SQL of the vector imports, loaded with :func:`ingest._db.sql`."""
