"""Where per-scene work runs when not in this process: an existing Dask cluster.

An :class:`Executor` maps a top-level function over picklable items and yields the results
in the items' order. :func:`ingest.satellite.ingest.ingest_local` given one uses it for the
heavy part of each scene (read bands, mask, compute indices and statistics, write COGs); the
caller keeps the database writes and stores each scene's rows in scene order, so the result
does not depend on which worker finishes first. Without one, ``ingest_local`` works in this
process and writes each scene's rows while its COGs are built.

Memory is bounded on both sides: :class:`DaskExecutor` keeps at most ``max_in_flight``
scenes submitted (default: the cluster's worker threads), and releases each result once it
has been handed over. A worker thread holds one scene at a time.

Catalogue exceptions and warnings (:class:`~models.errors.CatalogueMessage`) take only
keyword arguments, which pickle cannot rebuild; :class:`Portable` carries them across
processes.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from ingest.errors import IngestError
from models.errors import CatalogueMessage, InvalidParameter, SkyGroundWarning

if TYPE_CHECKING:
    from distributed import Future

__all__ = [
    "DaskExecutor",
    "Executor",
    "Portable",
    "SchedulerUnreachable",
    "ThreadedWorkers",
]

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=CatalogueMessage)

#: Address schemes a Dask client can reach a remote scheduler with.
SCHEMES: Final = ("tcp", "tls")


class SchedulerUnreachable(IngestError):
    """No Dask scheduler answered at the given address."""

    key: ClassVar[str] = "ingest_error_scheduler_unreachable"


class ThreadedWorkers(SkyGroundWarning):
    """Some Dask workers run several threads: scenes share their memory limit."""

    key: ClassVar[str] = "ingest_warning_threaded_workers"


class Executor(Protocol):
    """Runs ``func`` on each item; results come back in the items' order."""

    def map(
        self, func: Callable[[T], R], items: Sequence[T]
    ) -> Generator[R, None, None]:  # pragma: no cover - protocol
        """Yield ``func(item)`` for each item, in order; closing the generator stops the work."""
        ...


@dataclass(frozen=True)
class DaskExecutor:
    """Runs each item as one task on an existing ``dask.distributed`` cluster.

    ``func`` must be importable on the workers (a module-level function of this package,
    installed in the same environment) and items must pickle; tasks open their own files and
    database connections. A task lost with its worker is run again elsewhere by the scheduler
    (the per-scene work is idempotent: COGs are written atomically, the database only read).

    Attributes:
        address: the scheduler, ``tcp://host:port`` (or ``tls://``).
        max_in_flight: most tasks submitted and not yet handed over; None: the cluster's
            worker threads at connection time.
        connect_timeout_s: how long to wait for the scheduler, seconds.
    """

    address: str
    max_in_flight: int | None = None
    connect_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.address)
        if parts.scheme not in SCHEMES or not parts.hostname or parts.path not in ("", "/"):
            raise InvalidParameter(name="--scheduler", reason=self.address)
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is None:
            raise InvalidParameter(name="--scheduler", reason=self.address)
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise InvalidParameter(name="max_in_flight", reason=str(self.max_in_flight))

    def map(self, func: Callable[[T], R], items: Sequence[T]) -> Generator[R, None, None]:
        """Yield ``func(item)`` for each item, in order, computed on the cluster's workers."""
        from distributed import Client  # slow to import: only when a cluster is used

        try:
            # distributed leaves Client and Future methods unannotated.
            client = Client(  # type: ignore[no-untyped-call]
                self.address, timeout=self.connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as error:
            raise SchedulerUnreachable(address=self.address, detail=str(error)) from error
        with client:
            threads: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
            if any(n > 1 for n in threads.values()):
                warnings.warn(
                    ThreadedWorkers(address=self.address, threads=max(threads.values())),
                    stacklevel=2,
                )
            window = self.max_in_flight or max(1, sum(threads.values()))
            queue = iter(items)
            pending: deque[Future[Any]] = deque()

            def submit_next() -> None:
                for item in islice(queue, 1):
                    pending.append(client.submit(_portable_call, func, item, pure=False))

            try:
                for _ in range(window):
                    submit_next()
                while pending:
                    future = pending.popleft()
                    outcome = future.result()
                    future.release()  # type: ignore[no-untyped-call]
                    submit_next()  # keep the workers busy while the caller stores this one
                    if isinstance(outcome, _Raised):
                        raise outcome.error.rebuild()
                    yield outcome
            finally:
                for future in pending:
                    future.cancel()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Portable(Generic[M]):
    """A catalogue exception or warning in a form pickle can carry across processes."""

    kind: type[M]
    state: dict[str, Any]

    @classmethod
    def of(cls, item: M) -> Portable[M]:
        """Capture ``item`` (its class and attributes, the message parameters among them)."""
        return cls(type(item), dict(item.__dict__))

    def rebuild(self) -> M:
        """The exception or warning again, with the same message and attributes."""
        item = self.kind.__new__(self.kind)
        CatalogueMessage.__init__(item, **self.state["params"])
        item.__dict__.update(self.state)
        return item


@dataclass(frozen=True)
class _Raised:
    error: Portable[Any]


def _portable_call(func: Callable[[T], R], item: T) -> R | _Raised:
    """Run on a worker: a catalogue error comes back as data (pickle cannot rebuild it)."""
    try:
        return func(item)
    except Exception as error:
        if isinstance(error, CatalogueMessage):
            return _Raised(Portable.of(error))
        raise
