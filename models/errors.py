"""The base exception of SkyGround and the failures of the ``models`` package.

Every error carries a message key from :mod:`models.i18n` and the values that fill it, so
the CLI and the API can show it in the caller's language. The message names the bad value.
"""

from __future__ import annotations

from typing import ClassVar

from models.i18n import t

__all__ = [
    "CatalogueMessage",
    "ClusterError",
    "Conflict",
    "DatabaseUnavailable",
    "InvalidParameter",
    "NotFound",
    "PostgisMissing",
    "RestoreTargetNotEmpty",
    "SkyGroundError",
    "SkyGroundWarning",
]


class CatalogueMessage:
    """A message from the catalogue: ``key`` plus the values that fill it.

    Values written ``@other_key`` are themselves rendered from the catalogue. The English
    text becomes the exception or warning text (logs); people get :meth:`message`.
    """

    key: ClassVar[str] = "error_internal"

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.message("en"))  # type: ignore[call-arg]  # next in MRO: Exception

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default zh-CN), placeholders filled."""
        params = {
            name: t(value[1:], lang) if isinstance(value, str) and value.startswith("@") else value
            for name, value in self.params.items()
        }
        return t(self.key, lang, **params)


class SkyGroundError(CatalogueMessage, Exception):
    """Base of every SkyGround failure; ``key`` names the catalogue message."""


class SkyGroundWarning(CatalogueMessage, UserWarning):
    """Base of SkyGround's warnings: the result is kept but suspect (slow or doubtful)."""


class NotFound(SkyGroundError):
    """An object asked for by id or code does not exist (``kind`` is a ``@kind_*`` key)."""

    key = "error_not_found"


class InvalidParameter(SkyGroundError):
    """A request or command parameter is out of range or malformed."""

    key = "error_invalid_parameter"


class Conflict(SkyGroundError):
    """A write collides with an existing row."""

    key = "error_conflict"


class DatabaseUnavailable(SkyGroundError):
    """The database cannot be reached right now."""

    key = "error_database_unavailable"


class ClusterError(SkyGroundError):
    """The embedded PostgreSQL cluster failed to init, start or stop."""

    key = "error_cluster"


class PostgisMissing(SkyGroundError):
    """The configured server has no PostGIS extension and we may not create it."""

    key = "error_postgis_missing"


class RestoreTargetNotEmpty(SkyGroundError):
    """A restore would replace a database that already holds plots (``count``)."""

    key = "db_restore_not_empty"
    client_error = True
