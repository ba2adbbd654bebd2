"""Prefilters: cheap tests that tell, before a regular expression runs, that it cannot match.

Most of a pack's regexes start with ``\\b`` or a broad class, so Python's regex engine cannot skip
ahead and tries them at every position of the text; yet nearly all of them need something rare
to match at all: a digit, a "$", a word such as "regret". :func:`prefilter` reads a compiled
pattern's syntax tree and derives what every match must contain, as clauses that must all hold
(each clause: the text contains one of a few literals or characters of a class). The test is an
over-approximation: when it fails the regex cannot match, when it passes the regex runs as before,
so results never change, only the work done on drafts that cannot match.

Hand-written because no maintained library extracts required literals from Python ``re``
patterns (RE2's and Hyperscan's prefilters work on their own syntax). The tree comes from
``re._parser``, the parser ``re.compile`` itself uses; should its internals change, any
surprise makes :func:`prefilter` return None (no prefilter: the regex always runs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import ahocorasick


class Source(Protocol):
    """What the prefilter reads of a compiled pattern (an ``re.Pattern`` or a budgeted one)."""

    @property
    def pattern(self) -> str: ...

    @property
    def flags(self) -> int: ...


try:  # the stdlib's own regex parser (private module, present in CPython 3.11-3.13)
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python implementation
    _p = None  # type: ignore[assignment]

Test = Callable[[str], bool]
# an atom: ("lit", text) or ("cls", character class source)
Atom = tuple[str, str]
Clause = frozenset[Atom]

_MAX_CLAUSES = 3
_MIN_SCORE = 1.0
#: sre's category codes as the character classes they stand for (also read by backtracking.py)
CATEGORY_CLASSES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _name(op: Any) -> str:
    """An opcode's name (the parser's opcodes are named int constants)."""
    return str(getattr(op, "name", ""))


def _esc(code: int) -> str:
    return re.escape(chr(code))


def _class_source(items: Sequence[tuple[Any, Any]]) -> tuple[str, float] | None:
    """(source of an equivalent character class, selectivity score) or None if unsupported."""
    parts: list[str] = []
    negate = False
    score = 3.0  # a handful of symbols ("$", "€", "%") is a good filter
    for op, av in items:
        name = _name(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            parts.append(_esc(av))
            score = min(score, _char_score(chr(av)))
        elif name == "RANGE":
            parts.append(f"{_esc(av[0])}-{_esc(av[1])}")
            lo, hi = chr(av[0]), chr(av[1])
            score = min(score, 2.5 if lo >= "0" and hi <= "9" else 1.0)
        elif name == "CATEGORY":
            src = CATEGORY_CLASSES.get(_name(av))
            if src is None:
                return None
            parts.append(src)
            score = min(score, 2.5 if src == r"\d" else 0.0)
        else:
            return None
    if negate:
        score = 0.0
    if not parts or len(parts) > 12:
        return None
    return ("[^" if negate else "[") + "".join(parts) + "]", score


def _char_score(c: str) -> float:
    """How rare a single character is in a draft: spaces always occur, ASCII letters often."""
    if c.isspace():
        return 0.5
    return 1.0 if c.isascii() and c.isalnum() else 3.0


def _atom_score(atom: Atom, class_scores: dict[str, float]) -> float:
    kind, value = atom
    if kind == "cls":
        return class_scores[value]
    if len(value) == 1:
        return _char_score(value)
    return float(len(value.strip()) or 0.5)


class _Analyzer:
    """Walks a parsed pattern and collects clauses every match satisfies."""

    def __init__(self) -> None:
        self.class_scores: dict[str, float] = {}

    def score(self, clause: Clause) -> float:
        return min(_atom_score(a, self.class_scores) for a in clause)

    def best(self, clauses: list[Clause]) -> Clause | None:
        return max(clauses, key=self.score) if clauses else None

    def seq(self, items: Iterable[tuple[Any, Any]], icase: bool, unicode: bool) -> list[Clause]:
        """Clauses of a sequence: every element's clauses (all required), literal runs joined."""
        out: list[Clause] = []
        run: list[str] = []

        def flush() -> None:
            if run:
                out.append(frozenset([("lit", "".join(run))]))
                run.clear()

        for op, av in items:
            name = _name(op)
            if name == "LITERAL" and not icase:
                run.append(chr(av))
                continue
            flush()
            if name == "IN" and not icase and unicode:
                found = _class_source(av)
                if found is not None:
                    src, score = found
                    self.class_scores[src] = score
                    out.append(frozenset([("cls", src)]))
            elif name == "BRANCH":
                union: set[Atom] = set()
                for branch in av[1]:
                    b = self.best(self.seq(branch, icase, unicode))
                    if b is None:
                        union = set()
                        break
                    union |= b
                if union:
                    out.append(frozenset(union))
            elif name == "SUBPATTERN":
                _group, add, remove, sub = av
                sub_icase = (icase or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
                sub_unicode = unicode and not add & (re.ASCII | re.LOCALE)
                out.extend(self.seq(sub, sub_icase, sub_unicode))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, _hi, sub = av
                if lo >= 1:
                    out.extend(self.seq(sub, icase, unicode))
            elif name == "ATOMIC_GROUP":
                out.extend(self.seq(av, icase, unicode))
            # AT, ASSERT, ASSERT_NOT, ANY, NOT_LITERAL, GROUPREF...: no requirement taken
        flush()
        return out


def _literals_test(literals: Sequence[str]) -> Test:
    """True when the text contains one of the literals."""
    if len(literals) == 1:
        literal = literals[0]
        return lambda text: literal in text
    # an Aho-Corasick scan that stops at the first hit: ~3x faster than the regex engine on an
    # alternation of literals, which it tries at every position of the text
    auto = ahocorasick.Automaton()
    for literal in literals:
        auto.add_word(literal, True)
    auto.make_automaton()
    first = auto.iter
    return lambda text: next(first(text), None) is not None


def _clause_test(clause: Clause) -> Test:
    literals = sorted(v for k, v in clause if k == "lit")
    classes = sorted(v for k, v in clause if k == "cls")
    lit_test = _literals_test(literals) if literals else None
    if not classes:
        assert lit_test is not None
        return lit_test
    # alternatives that are all classes: the parser merges them into one class (one scan)
    rx = re.compile("|".join(classes))
    if lit_test is None:
        return lambda text: rx.search(text) is not None
    return lambda text: lit_test(text) or rx.search(text) is not None


def clauses(pattern: Source) -> list[Clause] | None:
    """The clauses every match of pattern satisfies (most selective first), or None."""
    if _p is None or not isinstance(pattern.pattern, str):
        return None
    try:
        tree = _p.parse(pattern.pattern, pattern.flags)
        flags = tree.state.flags
        icase = bool(flags & re.IGNORECASE)
        unicode = not flags & (re.ASCII | re.LOCALE)
        analyzer = _Analyzer()
        found = analyzer.seq(tree.data, icase, unicode)
    except Exception:  # noqa: BLE001 - an unexpected tree only means "no prefilter"
        return None
    useful = {c for c in found if analyzer.score(c) >= _MIN_SCORE}
    ranked = sorted(useful, key=lambda c: (-analyzer.score(c), sorted(c)))
    return ranked[:_MAX_CLAUSES] or None


def prefilter(pattern: Source) -> Test | None:
    """A test that is False only for texts the pattern cannot match anywhere, or None."""
    found = clauses(pattern)
    if not found:
        return None
    tests = tuple(_clause_test(c) for c in found)
    if len(tests) == 1:
        return tests[0]
    return lambda text: all(t(text) for t in tests)


def any_prefilter(patterns: Sequence[Source]) -> Test | None:
    """A test that is False only when none of the patterns can match, or None.

    First one search for any pattern's most selective clause (a single C-level call that
    rejects most drafts), then every pattern's full test."""
    found = [clauses(p) for p in patterns]
    if not found or any(not c for c in found):
        return None
    first = _clause_test(frozenset().union(*(c[0] for c in found if c)))
    checks = tuple(t for t in (prefilter(p) for p in patterns) if t is not None)
    if len(checks) == 1:
        only = checks[0]
        return lambda text: first(text) and only(text)
    return lambda text: first(text) and any(t(text) for t in checks)
