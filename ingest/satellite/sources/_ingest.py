"""The last step of every remote source: the local ingest of the folders it downloaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from ingest.satellite.executor import Executor
from ingest.satellite.ingest import IngestOptions, SceneResult, ingest_local

__all__ = ["ingest_folders"]


def ingest_folders(
    *,
    engine: Engine,
    folders: list[str],
    store: Path,
    options: IngestOptions,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> tuple[str | None, list[SceneResult]]:
    """Ingest ``folders`` as scenes of ``source``; (job id, results), (None, []) without any.

    ``progress`` continues a bar whose first half counted the downloads: the ingest of scene
    ``k`` of ``n`` is reported as ``(n + k, 2n)``.
    """
    if not folders:
        return None, []
    total = len(folders)

    def ingested(done: int, scenes: int) -> None:
        if progress is not None:
            progress(total + done, total + scenes)

    job_id, results = ingest_local(
        engine=engine,
        paths=[Path(f) for f in folders],
        store=store,
        options=replace(options, source=source),
        progress=ingested,
        executor=executor,
    )
    return job_id, results
