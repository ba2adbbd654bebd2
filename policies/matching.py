"""Term groups: lexicons matched in one Aho-Corasick pass per view, plus optional regexes.

A pack declares word lists; rules register them here as groups at pack load. At check time each
view of a draft is scanned once by a single automaton holding every group's terms, so adding a rule
adds no extra pass over the text.

Term syntax (after the same normalisation as the text):

* ``word``: whole-word match where the term starts or ends with a letter or digit of an alphabet
  that uses spaces; CJK terms match anywhere.
* ``word*`` / ``*word``: the word may continue on that side ("cure*" matches "cured", "cures").
* ``re:<regex>``: a regular expression run on the view (case-insensitive).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick

from policies.backtracking import compile_pattern
from policies.budget import Pattern
from policies.fastre import Alternation
from policies.normalize import Normalizer
from policies.prefilter import Test, any_prefilter

Span = tuple[int, int]


def _is_word_char(c: str) -> bool:
    # CJK and kana have no spaces between words, so they never form a boundary problem
    if not c:
        return False
    o = ord(c)
    if 0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FFFF:
        return False
    return c.isalnum() or c == "_"


class _WordChars(dict[str, bool]):
    """_is_word_char, memoised per character (the scan asks up to four times per hit)."""

    def __missing__(self, c: str) -> bool:
        value = _is_word_char(c)
        if len(self) < 20_000:  # hostile input must not grow it forever
            self[c] = value
        return value


_WORD_CHARS = _WordChars()


@dataclass
class _Entry:
    group: int
    left_open: bool
    right_open: bool


@dataclass
class TermGroup:
    """A compiled group: its id in the lexicon and its regexes."""

    gid: int
    view: str
    regexes: list[Pattern] = field(default_factory=list)
    has_terms: bool = False
    regex: Pattern | None = None  # the group's regexes as one alternation
    alternation: Alternation | None = None  # the same matches, found faster
    # False only when none of the regexes can match (see policies/prefilter.py); None: always run
    gate: Test | None = None


class Lexicon:
    """All term groups of a pack, one automaton per view."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self._automata: dict[str, ahocorasick.Automaton] = {}
        self._pending: dict[str, dict[str, list[_Entry]]] = {}
        self.groups: list[TermGroup] = []

    def add(self, terms: Iterable[str], view: str = "folded") -> TermGroup:
        """Register a group of terms for a view and return its handle."""
        group = TermGroup(gid=len(self.groups), view=view)
        self.groups.append(group)
        table = self._pending.setdefault(view, {})
        for raw in terms:
            if isinstance(raw, bool):
                # YAML 1.1 reads an unquoted no/yes/off/on as a boolean: the word would silently
                # become "false" and never match
                raise ValueError(f'a term was read as {raw!r}: quote it (e.g. "no", "off")')
            raw = str(raw)
            if any(unicodedata.category(c) == "Cc" and c != "\t" for c in raw):
                # YAML reads "\b" in double quotes as a backspace: the pattern would never match
                raise ValueError(
                    f"term {raw[:40]!r} contains a control character "
                    "(write regular expressions in single quotes in YAML)"
                )
            if raw.startswith("re:"):
                # plain and folded views are already case-folded; skipping IGNORECASE there keeps
                # the regex engine's literal-prefix fast path
                flags = re.IGNORECASE if view == "original" else 0
                group.regexes.append(compile_pattern(raw[3:], flags))
                continue
            left_open = raw.startswith("*") and len(raw) > 1
            right_open = raw.endswith("*") and len(raw) > 1
            term = raw[1 if left_open else 0 : len(raw) - (1 if right_open else 0)]
            key = self.normalizer.term(term).strip()
            if not key:
                continue
            group.has_terms = True
            table.setdefault(key, []).append(_Entry(group.gid, left_open, right_open))
        return group

    def finalize(self) -> None:
        """Build the automata; call once after every rule registered its groups."""
        for group in self.groups:
            if group.regexes:
                # one pass per group instead of one per regex
                group.regex = Pattern(
                    "|".join(f"(?:{rx.pattern})" for rx in group.regexes), group.regexes[0].flags
                )
                group.gate = any_prefilter(group.regexes)
                group.alternation = Alternation(group.regexes)
        for view, table in self._pending.items():
            auto = ahocorasick.Automaton()
            for key, entries in table.items():
                auto.add_word(key, (len(key), tuple(entries)))
            if len(auto):
                auto.make_automaton()
                self._automata[view] = auto

    def scan(self, view: str, text: str) -> dict[int, list[Span]]:
        """Return {group id: [spans in the view]} for every term found in text."""
        auto = self._automata.get(view)
        hits: dict[int, list[Span]] = {}
        if auto is None or not text:
            return hits
        n = len(text)
        word = _WORD_CHARS
        for end_idx, (length, entries) in auto.iter(text):
            start = end_idx - length + 1
            end = end_idx + 1
            # is the match glued to a word character on that side (only matters for a term
            # that starts/ends with one)?
            glued_left = start > 0 and word[text[start]] and word[text[start - 1]]
            glued_right = end < n and word[text[end_idx]] and word[text[end]]
            for e in entries:
                if glued_left and not e.left_open:
                    continue
                if glued_right and not e.right_open:
                    continue
                hits.setdefault(e.group, []).append((start, end))
        return hits


def find(group: TermGroup, text: str, scanned: dict[int, list[Span]]) -> list[Span]:
    """Spans of a group's terms and regexes in text (scanned = Lexicon.scan of that text)."""
    spans = scanned.get(group.gid)
    if group.regex is None or (group.gate is not None and not group.gate(text)):
        return spans + [] if spans else []
    if group.alternation is not None:
        found = group.alternation.spans(text)
    else:
        found = [m.span() for m in group.regex.finditer(text) if m.end() > m.start()]
    return spans + found if spans else found
