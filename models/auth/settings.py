"""Settings of logins, sessions and anonymous access (``SKYGROUND_AUTH_*``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AuthSettings", "session_secret"]

#: File under ``SKYGROUND_HOME`` holding the generated session-signing secret.
SECRET_FILE = "session-secret"


class AuthSettings(BaseSettings):
    """How callers prove who they are."""

    model_config = SettingsConfigDict(
        env_prefix="SKYGROUND_AUTH_", extra="ignore", hide_input_in_errors=True
    )

    secret: SecretStr | None = Field(
        default=None,
        description=(
            "Key signing web-session cookies (at least 32 characters). Unset: generated once "
            "into SKYGROUND_HOME/session-secret; set the same value on every host when "
            "scaling out."
        ),
    )
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="Web login lifetime.")
    anonymous_read: bool = Field(
        default=False,
        description="Let callers without credentials read maps, plots and series (viewer).",
    )
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set behind TLS)."
    )
    min_password_length: int = Field(default=10, ge=8, le=128)

    @field_validator("secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("SKYGROUND_AUTH_SECRET must have at least 32 characters")
        return value


def session_secret(settings: AuthSettings, home: Path) -> str:
    """The configured secret, else the one in ``home`` (created 0600 on first use)."""
    if settings.secret is not None:
        return settings.secret.get_secret_value()
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # first writer wins when several workers start at once
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="utf-8").strip()
