"""The message catalogue: every key in both languages with the same placeholders."""

from __future__ import annotations

import pytest

from models.i18n import LANGUAGES, catalogue, negotiate, placeholders, t


@pytest.mark.parametrize("key", sorted(catalogue()))
def test_every_message_has_both_languages_and_the_same_placeholders(key):
    texts = catalogue()[key]
    assert set(texts) == set(LANGUAGES), key
    assert all(text.strip() for text in texts.values()), key
    assert placeholders(texts["zh-CN"]) == placeholders(texts["en"]), key


def test_chinese_is_the_default_and_english_is_on_request():
    assert t("error_not_found", kind="x", ident="1") != t(
        "error_not_found", "en", kind="x", ident="1"
    )
    assert negotiate(None) == "zh-CN"
    assert negotiate("en-GB,en;q=0.9") == "en"
    assert negotiate("zh-TW") == "zh-CN"
    assert negotiate("fr") == "zh-CN"


def test_an_unknown_key_fails_loudly():
    with pytest.raises(KeyError):
        t("no_such_message")
