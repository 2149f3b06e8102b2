"""One message catalogue for every user-facing string, zh-CN first, English on request.

Messages live in the ``*.toml`` files beside this module, one table per key with a
``zh-CN`` and an ``en`` entry; placeholders use ``str.format`` names (``{path}``).
Each area of the code keeps its own file so keys stay near the people who write them.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Final

LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalogue", "negotiate", "placeholders", "t"]


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All messages, keyed by message key then language."""
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        for key, texts in data.items():
            if key in merged:
                raise ValueError(f"message key {key!r} is defined twice (again in {entry.name})")
            merged[key] = dict(texts)
    return merged


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` in a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def negotiate(requested: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Pick a catalogue language from a tag or an ``Accept-Language`` header value."""
    if not requested:
        return default
    for part in requested.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """Render message ``key`` in ``lang`` (default zh-CN) with ``params`` filled in."""
    texts = catalogue().get(key)
    if texts is None:
        raise KeyError(f"no message {key!r} in the catalogue")
    text = texts.get(lang or DEFAULT_LANGUAGE) or texts[DEFAULT_LANGUAGE]
    return text.format(**params)
