"""Language of inbound mentions (lingua), restricted to the languages the company serves."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

_LANGS = {Language.ENGLISH: "en", Language.SPANISH: "es", Language.CHINESE: "zh"}
_NOISE = re.compile(r"@[\w.\-]+|https?://\S+|#\w+|\[[^\]]*\]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    return LanguageDetectorBuilder.from_languages(*_LANGS).with_preloaded_language_models().build()


def detect_language(text: str, default: str = "en") -> str:
    """ISO code of the language carrying the message; ``default`` for emoji-only text.

    Handles, links, hashtags and media placeholders are dropped first. Any Han characters make
    a message Chinese: customers mix English product names into Chinese sentences, never the
    other way round in this market.
    """
    body = _NOISE.sub(" ", text)
    if _HAN.search(body):
        return "zh"
    if not _LETTER.search(body):
        return default
    found = _detector().detect_language_of(body)
    return _LANGS.get(found, default) if found else default
