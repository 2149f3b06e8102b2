from __future__ import annotations

import tomllib
from importlib import resources

from models.i18n import LANGUAGES, placeholders


def test_api_messages_exist_in_every_language_with_the_same_placeholders():
    text = resources.files("models.i18n").joinpath("api.toml").read_text(encoding="utf-8")
    messages = tomllib.loads(text)
    assert messages
    for key, texts in messages.items():
        assert set(texts) == set(LANGUAGES), key
        assert placeholders(texts["zh-CN"]) == placeholders(texts["en"]), key
