"""Text normalisation before matching, with an offset map back to the original text.

Two views are built from a draft:

* ``plain``: NFKC, case folding, invisible characters removed, look-alike letters from other
  alphabets mapped to Latin, accents folded (except ñ). Digits and symbols are kept, so PII and
  number patterns run here.
* ``folded``: ``plain`` plus leetspeak undone inside words ("sh1t", "a$$", "Her0n") and
  spaced-out letters joined ("f u c k", "p.r.o.j.e.c.t"). Lexicons of words run here.

Every view keeps, for each of its characters, the index of the original character it came from,
so a match in any view maps back to a span of the draft as the author typed it.

Homoglyphs: we use a small Cyrillic/Greek -> Latin table from the pack instead of a confusables
package. The full Unicode confusables data (as shipped by ``confusable_homoglyphs``) also folds
CJK, digits and punctuation in ways that break Chinese matching and number detection, costs a large
load, and we only need letters that imitate Latin in en/es text; the pack table stays editable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain, compress, repeat
from typing import Any

from policies.backtracking import compile_pattern

#: a Chinese (Han) character, Simplified, Traditional or a compatibility form: the script test of
#: the learned tier's examples, the boilerplate check and the hub's language detection
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class _Table(dict[int, str]):
    """str.translate table that computes (and caches) a character's mapping on first sight."""

    def __init__(self, normalizer: Normalizer) -> None:
        super().__init__()
        self._normalizer = normalizer

    def __missing__(self, key: int) -> str:
        value = self._normalizer._map_char(chr(key))
        if len(self) < 50_000:
            self[key] = value
        return value


@dataclass(frozen=True)
class Normalized:
    """A normalised view of a text plus the original index of each of its characters."""

    text: str
    index: tuple[int, ...] | None  # None means identity (same length, same positions)
    source_len: int

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of this view to a span of the original text."""
        if self.index is None:
            return (max(0, min(start, self.source_len)), max(0, min(end, self.source_len)))
        if not self.index:
            return (0, 0)
        start = max(0, min(start, len(self.index) - 1))
        end = max(start + 1, min(end, len(self.index)))
        return (self.index[start], self.index[end - 1] + 1)


class Normalizer:
    """Builds the plain and folded views; configured from the pack's ``normalize`` section."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        cfg = dict(config or {})
        self.homoglyphs: dict[str, str] = {
            str(k): str(v) for k, v in dict(cfg.get("homoglyphs") or {}).items()
        }
        self.leet: dict[str, str] = {str(k): str(v) for k, v in dict(cfg.get("leet") or {}).items()}
        self.invisible: set[str] = {str(c) for c in list(cfg.get("invisible") or [])}
        # letters that are letters of their own, not accented ones ("año" is not "ano")
        self.keep_accented: set[str] = {str(c) for c in list(cfg.get("keep_accented") or [])}
        seps = str(cfg.get("letter_separators") or " .-_·")
        self._char_cache: dict[str, str] = {}
        self._table = _Table(self)
        self._nonunit: set[str] = set()  # characters that map to 0 or 2+ characters
        leet_chars = "".join(re.escape(c) for c in self.leet)
        # a leet character inside a word: letter+digit, digit/symbol+letter, or a trailing "$$".
        # Written to start at the digit or leet character (the look-behinds re-check the letter
        # before it) so the regex engine skips straight to those characters instead of trying
        # every letter: same answer as "[^\W\d_][0-9]|[L][^\W\d_]|[^\W\d_][L]{2}".
        self._leet_probe = (
            compile_pattern(
                f"[0-9{leet_chars}](?:(?<=[^\\W\\d_][0-9])|(?<=[{leet_chars}])(?=[^\\W\\d_])"
                f"|(?<=[^\\W\\d_][{leet_chars}])[{leet_chars}])"
            )
            if leet_chars
            else None
        )
        # a token: a run of characters between spaces and sentence punctuation; only tokens
        # mixing letters with leet characters are worth a look
        tok = r"[^\s,.;:?¿¡\"'()\[\]{}<>/\\]"
        lc = leet_chars or "\\x00"
        self._token = compile_pattern(rf"(?<!{tok})(?={tok}*[^\W\d_])(?={tok}*[{lc}]){tok}+")
        sep = re.escape(seps)
        # 3+ single letters (or CJK characters) each separated by 1-3 separator characters
        self._spaced = compile_pattern(
            rf"(?<![^\W_])[^\W_](?:[{sep}]{{1,3}}[^\W_]){{2,}}(?![^\W_])"
        )
        self._sep_chars = set(seps)

    # -- stage 1: per-character mapping -------------------------------------------------------
    def _map_char(self, ch: str) -> str:
        out = self._char_cache.get(ch)
        if out is not None:
            return out
        if ch in self.invisible or unicodedata.category(ch) == "Cf":
            out = ""
        else:
            # look-alikes first (capital Greek Eta is an H, lowercase eta an n), then again after
            # case folding for the lowercase forms
            s = "".join(self.homoglyphs.get(c, c) for c in unicodedata.normalize("NFKC", ch))
            s = "".join(self.homoglyphs.get(c, c) for c in s.casefold())
            if s not in self.keep_accented and not s.isascii():
                s = "".join(
                    c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn"
                )
                s = unicodedata.normalize("NFC", s)
                s = "".join(self.homoglyphs.get(c, c) for c in s)
        result = out if out is not None else s
        if len(result) != 1:
            self._nonunit.add(ch)
        if len(self._char_cache) < 50_000:  # hostile input must not grow the cache forever
            self._char_cache[ch] = result
        return result

    def plain(self, text: str) -> Normalized:
        """NFKC + casefold + invisible characters removed + homoglyphs + accent folding."""
        if text.isascii():
            return Normalized(text.lower(), None, len(text))
        # fast path in C: translate char by char, then check no character changed length
        out = text.translate(self._table)
        if self._nonunit.isdisjoint(text):
            return Normalized(out, None, len(text))
        # some character maps to "" or to several: each output character points back at its
        # source position (i repeated len(mapping) times). translate() has just put every
        # character's mapping in the table, so these loops stay in C.
        lens = list(map(len, map(self._table.__getitem__, map(ord, text))))
        if lens.count(1) == len(lens):
            return Normalized(out, None, len(text))
        if max(lens) == 1:  # deletions only (invisible characters, variation selectors)
            index = tuple(compress(range(len(text)), lens))
        else:
            index = tuple(chain.from_iterable(map(repeat, range(len(text)), lens)))
        return Normalized(out, index, len(text))

    # -- stage 2: leetspeak and spaced-out letters ---------------------------------------------
    def _undo_leet(self, s: str) -> str:
        # only a leet character touching a letter can be part of a word
        if self._leet_probe is None or not self._leet_probe.search(s):
            return s
        chars = list(s)
        changed = False
        for m in self._token.finditer(s):
            tok = m.group()
            letters = sum(1 for c in tok if c.isalpha())
            if letters < 2:
                continue
            leet_pos = [i for i, c in enumerate(tok) if c in self.leet]
            if not leet_pos:
                continue
            digits = sum(1 for c in tok if c.isdigit())
            if digits > letters:
                continue  # "kf2048", "ks-app-9003": codes, not words
            if tok[0] == "@" and len(tok) > 1 and tok[1].isalpha():
                leet_pos = [i for i in leet_pos if i != 0]  # a @mention, not "@$$"
            last_alpha = max(i for i, c in enumerate(tok) if c.isalpha())
            for i in leet_pos:
                c = tok[i]
                if not c.isdigit() and i > last_alpha:
                    continue  # trailing "!" or "$" is punctuation, not a letter
                chars[m.start() + i] = self.leet[c]
                changed = True
        return "".join(chars) if changed else s

    def fold(self, plain: Normalized) -> Normalized:
        """Derive the folded view (leetspeak undone, spaced letters joined) from the plain one."""
        s = self._undo_leet(plain.text)  # 1:1, keeps positions
        if not self._spaced.search(s):
            if s is plain.text:
                return plain
            return Normalized(s, plain.index, plain.source_len)
        keep: list[int] = []  # positions of s that survive
        out: list[str] = []
        pos = 0
        for m in self._spaced.finditer(s):
            for i in range(pos, m.start()):
                keep.append(i)
                out.append(s[i])
            gap = 0
            for i in range(m.start(), m.end()):
                c = s[i]
                if c in self._sep_chars:
                    gap += 1
                    continue
                if gap >= 2 and out and out[-1] != " ":
                    keep.append(i - 1)  # a wide gap separates words: "P r o j e c t  O s p r e y"
                    out.append(" ")
                gap = 0
                keep.append(i)
                out.append(c)
            pos = m.end()
        for i in range(pos, len(s)):
            keep.append(i)
            out.append(s[i])
        base = plain.index
        index = tuple(base[i] for i in keep) if base is not None else tuple(keep)
        return Normalized("".join(out), index, plain.source_len)

    def term(self, term: str) -> str:
        """Normalise a lexicon term the way the plain view normalises text."""
        return self.plain(term).text
