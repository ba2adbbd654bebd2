"""Language of inbound mentions: the language that carries the request, among those served.

Two readings. The *frame*: Spanish and English function words (articles, pronouns,
prepositions, conjunctions, auxiliaries, request words) counted with word boundaries. In a mixed
post the grammar comes from one language, the matrix language, and function words belong to the
grammar, while borrowed content words ("tracking", "delivered", a product name) do not; lingua
has no matrix-language mode and scores every word alike, so "oye my order never llegó y el
tracking dice delivered" comes out English. When the frame is clear (one side has at least two
more function words, or only one side has any) it decides; otherwise lingua (n-gram models, about
0.5 ms a text) does.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

from policies import HAN

_LANGS = {Language.ENGLISH: "en", Language.SPANISH: "es", Language.CHINESE: "zh"}
#: the codes detect_language gives (the queue's language filter offers these)
SERVED = tuple(_LANGS.values())
_NOISE = re.compile(r"@[\w.\-]+|https?://\S+|#\w+|\[[^\]]*\]")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words only, and none shared by the two languages ("a", "no", "me", "he", "son",
# "solo", "sin" exist in both; "en" is a Spanish preposition, but "in" is not Spanish).
_ES = _words(
    """el la los las un una unos unas del al lo le les mi mis tu tus su sus nuestro nuestra
    que qué porque por para pero y o ni con sin sobre desde hasta entre hacia según
    es está están estoy estás son fue fueron era soy hay ha han he hemos había sea
    ya muy más también todavía aún nunca siempre nada algo cuando cuándo donde dónde cómo
    cuál cuánto cuánta este esta esto estos estas ese esa eso esos esas aquí allí
    yo tú él ella nosotros ustedes usted se te nos mí ti
    oye hola gracias porfa favor ayuda sí pues bueno vale neta qué onda ahorita"""
)
_EN = _words(
    """the an my your our their his her its this that these those there here
    is are was were be been being am do does did have has had will would can could should
    shall may might must not don't doesn't didn't can't won't isn't aren't wasn't i'm i've it's
    i you he she we they it me him us them what when where why how which who whom whose
    and or but so because if of to in on at for with from by about into over than then
    just still already never ever any some anyone anything every please thanks thank hey hi
    yes yeah got get"""
)
_CLEAR = 2


@lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    return LanguageDetectorBuilder.from_languages(*_LANGS).with_preloaded_language_models().build()


def build_detector() -> None:
    """Build lingua's models now (a quarter of a second), not in the first mention whose frame
    is unclear."""
    _detector()


def frame(body: str) -> tuple[int, int]:
    """(Spanish, English) function words in ``body``."""
    es = en = 0
    for w in _WORD.findall(body.casefold()):
        if w in _ES:
            es += 1
        elif w in _EN:
            en += 1
    return es, en


def detect_language(text: str, default: str = "en") -> str:
    """ISO code of the language carrying the message; ``default`` for emoji-only text.

    Handles, links, hashtags and media placeholders are dropped first. Any Han characters make
    a message Chinese: customers mix English product names into Chinese sentences, never the
    other way round in this market.
    """
    body = _NOISE.sub(" ", text)
    if HAN.search(body):
        return "zh"
    if not _LETTER.search(body):
        return default
    es, en = frame(body)
    if es - en >= _CLEAR or (es and not en):
        return "es"
    if en - es >= _CLEAR or (en and not es):
        return "en"
    found = _detector().detect_language_of(body)
    return _LANGS.get(found, default) if found else default
