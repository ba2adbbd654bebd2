"""``language``: a reply should be in the language the customer wrote in (G10).

Script decides Chinese versus the rest for free; English versus Spanish is first guessed from
common words and Spanish letters, and only when that is unclear from lingua, restricted to the
pack's languages. The lingua detector is built once per process and cached: it is slow to build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

# runs, not single characters: the counts below sum run lengths (far fewer list items)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-zA-ZÀ-ÿ]+")
_WORD = re.compile(r"[a-zñáéíóúü']+")
# handles and links are not language; CJK and full-width punctuation never belong to them,
# so "现在有货：https://…" keeps its Chinese (\S and \w would swallow it with the link)
_NOT_CJK = r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
_MENTION_OR_LINK = re.compile(
    rf"@[A-Za-z0-9_.-]+|https?://{_NOT_CJK}+|{_NOT_CJK}+\.(?:com|co|mx|es|tw|cn){_NOT_CJK}*"
)
# what every match of _MENTION_OR_LINK contains: most drafts have none, and then the regex
# (which tries its \S+ branch at every position) need not run
_MENTION_OR_LINK_PROBES = ("@", "http", ".co", ".mx", ".es", ".tw", ".cn")

_LINGUA_CODES = {"en": "ENGLISH", "es": "SPANISH", "zh": "CHINESE"}


@cache
def _detector(languages: tuple[str, ...]) -> Any:
    """A lingua detector restricted to the given ISO codes (built once, cached)."""
    from lingua import Language, LanguageDetectorBuilder

    langs = [getattr(Language, _LINGUA_CODES[c]) for c in languages if c in _LINGUA_CODES]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def warm_up(languages: Iterable[str] = ("en", "es", "zh")) -> None:
    """Build the detector and load its models now rather than on the first reply."""
    _detector(tuple(languages)).detect_language_of("warm up the models, por favor")


@register("language")
class LanguageRule(Rule):
    """Warn when a reply's language differs from the customer's."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.languages = tuple(str(x) for x in spec.get("languages") or ("en", "es", "zh"))
        words: Mapping[str, Any] = spec.get("common_words") or {}
        self.common = {str(k): frozenset(str(w) for w in v or []) for k, v in words.items()}
        self.es_letters = frozenset(str(spec.get("spanish_letters", "ñáéíóú¿¡")))
        self.margin = int(spec.get("margin", 2))
        self.min_letters = int(spec.get("min_letters", 8))
        self.cjk_share = float(spec.get("cjk_share", 0.25))
        self.min_confidence = float(spec.get("min_confidence", 0.7))
        self.max_chars = int(spec.get("max_chars", 400))
        self.min_latin_share = float(spec.get("min_latin_share", 0.6))
        self.min_words = int(spec.get("min_words_for_model", 3))
        self.names = {str(k): str(v) for k, v in (spec.get("language_names") or {}).items()}

    def detect(self, text: str, use_model: bool = True) -> str | None:
        """Best guess of text's language among the pack's languages, or None if too short.

        ``use_model=False`` answers from script, common words and letters alone (None where
        lingua would have been asked): cheap enough for every draft."""
        # a post's worth of text is plenty to tell three languages apart
        text = text[: self.max_chars]
        if any(map(text.__contains__, _MENTION_OR_LINK_PROBES)):
            text = _MENTION_OR_LINK.sub(" ", text)
        cjk = 0 if text.isascii() else sum(map(len, _CJK.findall(text)))
        latin = sum(map(len, _LATIN.findall(text)))
        if cjk + latin < 2:
            return None
        if cjk >= 2 and cjk / (cjk + latin) >= self.cjk_share:
            return "zh"
        if latin < self.min_letters:
            return None
        lower = text.lower()
        words = _WORD.findall(lower)
        # counted with C-level loops: this runs on every draft (the offensive rule asks too)
        en = sum(map(self.common.get("en", frozenset()).__contains__, words))
        es = sum(map(self.common.get("es", frozenset()).__contains__, words))
        es += sum(map(lower.count, self.es_letters))
        if cjk >= 2 and en == 0 and es == 0:
            # Chinese with Latin names in it ("Kestrel Glide Knit Trainer 现在有货"): the Latin
            # words carry no English or Spanish, so the sentence is the Chinese around them
            return "zh"
        # one-sided evidence is enough: Spanish function words and letters are rare in English
        if en >= es + self.margin or (en >= 1 and es == 0):
            return "en"
        if es >= en + self.margin or (es >= 1 and en == 0):
            return "es"
        if latin < self.min_latin_share * len(text.replace(" ", "")):
            return None  # mostly symbols or other scripts: not a language we can judge
        if len(words) < self.min_words or sum(map(len, words)) < self.min_latin_share * latin:
            return None  # too few words to tell (a product name), or letters but not words
        if not use_model:
            return None
        # lingua gets only the words: faster, and symbols and digits carry no language
        sample = " ".join(words)[:160]
        values = _detector(self.languages).compute_language_confidence_values(sample)
        if not values or values[0].value < self.min_confidence:
            return None
        name = values[0].language.name
        return next((c for c, n in _LINGUA_CODES.items() if n == name), None)

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding when the reply and the customer's message differ in language."""
        if doc.draft.kind != "reply" or not doc.reply_to.strip():
            return []
        theirs = self.detect(doc.reply_to)
        if theirs is None:
            return []
        ours = doc.language if doc.pack.language_detector is self else self.detect(doc.text)
        ours = ours or doc.draft.lang
        if ours is None or ours == theirs:
            return []
        return [
            self.finding(
                doc,
                None,
                theirs=self.names.get(theirs, theirs),
                ours=self.names.get(ours, ours),
            )
        ]
