"""Word lists found in one pass: routing keywords, trigger words, product aliases.

One Aho-Corasick automaton (pyahocorasick) per list. A Latin word must sit on word boundaries
("sue" is not in "issue"); a trailing ``*`` makes it a prefix ("refund*" also reads "refunds");
a CJK word is a plain substring, since those scripts put no spaces between words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import ahocorasick

#: a word character for Latin boundaries (CJK ones count too: "打12315" has no boundary)
WORDCHAR = re.compile(r"\w")
#: a word character that is not CJK ("打12315" has a boundary before the digits)
LATIN_WORDCHAR = re.compile(r"[^\W\u3400-\u9fff\uf900-\ufaff]")


def is_cjk(word: str) -> bool:
    """Whether ``word`` holds a CJK ideograph."""
    return any("\u3400" <= ch <= "\u9fff" for ch in word)


class WordList:
    """Words, each with the payloads it was added with, found in case-folded text."""

    def __init__(self, entries: Iterable[tuple[str, Any]], boundary: re.Pattern[str] = WORDCHAR):
        self._boundary = boundary
        self._automaton = ahocorasick.Automaton()
        for raw, payload in entries:
            word = raw.strip().casefold()
            prefix = word.endswith("*")
            word = word.rstrip("*")
            if not word:
                continue
            cjk = is_cjk(word)
            existing = self._automaton.get(word, None)
            payloads = (existing[3] if existing else ()) + (payload,)
            self._automaton.add_word(word, (word, cjk, cjk or prefix, payloads))
        self.empty = len(self._automaton) == 0
        if not self.empty:
            self._automaton.make_automaton()

    def find(self, folded: str) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
        """(start, word, payloads) of every word found, in the order their ends are reached."""
        if self.empty:
            return
        wordchar = self._boundary
        for end, (word, free_left, free_right, payloads) in self._automaton.iter(folded):
            start = end - len(word) + 1
            if not free_left and start > 0 and wordchar.match(folded[start - 1]):
                continue
            if not free_right and end + 1 < len(folded) and wordchar.match(folded[end + 1]):
                continue
            yield start, word, payloads
