"""A time budget for every check: a pack's patterns run on an engine that can be stopped.

The static check and the measurement in :mod:`policies.backtracking` refuse the patterns they can
prove slow, but they approximate; Python's ``re`` cannot be interrupted from a thread (it only
checks for signals, which only the main thread receives), so a pattern that slipped through would
hold a web worker for as long as it runs. Every pattern a pack compiles therefore runs on the
``regex`` module (mrab-regex, the maintained drop-in for ``re`` that also backs ``re``'s own
test-suite comparisons), whose matching functions take a ``timeout``. :func:`budget` sets a
deadline for the current check (a context variable, so each thread and each check has its own);
every call of a :class:`Pattern` passes the time left, and when it runs out the check stops with
:class:`BudgetExceeded`, which the engine turns into a decision held for review.

RE2 (linear time) was the other candidate: it lacks the look-behinds most shipped patterns use and
its ``\\w``/``\\b`` are ASCII-only, so it could run only 5 of the 118 shipped patterns unchanged.
``regex`` runs in its version-0 mode, which follows ``re``'s syntax. Its ``\\w``, ``\\s``, ``\\b``
differ from ``re``'s, though (``regex`` counts combining marks as word characters, ``re`` counts
superscript digits and fractions; ``re`` counts \\x1c-\\x1f as spaces), so :func:`translate`
rewrites each shorthand into Unicode properties that select exactly ``re``'s characters: checked
on every code point Python's Unicode database assigns (``tests/policies/test_budget.py``). What
still differs: characters the newer Unicode database of ``regex`` assigns and Python's does not
yet (``re`` itself changes on them between Python versions), and two case-insensitive matches
(U+0131 dotless i matches ``(?i)[a-z]`` only in ``re``, U+0345 ``(?i)\\w`` only in ``regex``),
and ``\\W`` inside a scoped ``(?a:...)`` group, where ``re`` matches "ñ" with neither ``\\w`` nor
``\\W`` and ``regex`` with ``\\W``.
The shipped pack's decisions on some 15,000 real and random drafts are the same on both engines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import regex

__all__ = [
    "BudgetExceeded",
    "Pattern",
    "budget",
    "regex_form",
    "time_left",
    "translate",
]

_DEADLINE: ContextVar[float | None] = ContextVar("check_deadline", default=None)
_clock = time.perf_counter

# ``re`` and ``regex`` number their flags alike except ASCII (256 in ``re``; in ``regex`` 256 is
# VERSION1, ASCII is 128)
_FLAGS = (
    (re.IGNORECASE, regex.IGNORECASE),
    (re.LOCALE, regex.LOCALE),
    (re.MULTILINE, regex.MULTILINE),
    (re.DOTALL, regex.DOTALL),
    (re.UNICODE, regex.UNICODE),
    (re.VERBOSE, regex.VERBOSE),
    (re.ASCII, regex.ASCII),
)


# re's classes as regex properties (exact on every code point Python's database assigns)
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\s\x1c-\x1f"
_DIGIT = r"\d"
_BODY = {"w": _WORD, "s": _SPACE, "d": _DIGIT}
_NOT_EMPTY = r"(?:(?=[\s\S])|(?<=[\s\S]))"
_OUTSIDE = {
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "d": r"\d",
    "D": r"\D",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    # re's \B never matches in an empty string
    "B": rf"{_NOT_EMPTY}(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
# the letter-like classes packs use most, as one property class instead of a look-ahead
_IDIOMS = {
    ("W", frozenset({"_"})): r"[\p{L}\p{N}]",
    ("W", frozenset({"_", "\\d"})): r"[\p{L}\p{Nl}\p{No}]",
}
_SCOPED_FLAGS = re.compile(r"\(\?([aiLmsux]*)(?:-[imsx]*)?:")


def translate(source: str, flags: int) -> str:
    """``source`` (``re`` syntax, compiled with ``flags``) for ``regex``, matching the same.

    Hand-written: no library maps one engine's classes onto the other's. Shorthands are
    rewritten outside classes (:data:`_OUTSIDE`) and inside them (a class holding ``\\W``, ``\\S``
    or ``\\D`` becomes an alternation, or for a negated class a look-ahead, since ``regex``'s
    version-0 classes cannot nest); ASCII-only patterns and ``(?a:...)`` groups keep theirs (the
    engines agree on ASCII). A literal ``[`` in a class is escaped (``regex`` reads ``[:`` as a
    POSIX class). The source must already compile with ``re``."""
    verbose = bool(flags & re.VERBOSE)
    ascii_scope = [bool(flags & re.ASCII)]
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n:
            nxt = source[i + 1]
            if nxt in _OUTSIDE and not ascii_scope[-1]:
                out.append(_OUTSIDE[nxt])
            elif nxt == "B":  # ASCII \B: the engines agree, except on an empty string
                out.append(_NOT_EMPTY + c + nxt)
            else:
                out.append(c + nxt)
            i += 2
        elif c == "[":
            i = _class(source, i, ascii_scope[-1], out)
        elif c == "(":
            scoped = _SCOPED_FLAGS.match(source, i)
            ascii_scope.append(ascii_scope[-1] or bool(scoped and "a" in scoped.group(1)))
            out.append(c)
            i += 1
        elif c == ")":
            if len(ascii_scope) > 1:
                ascii_scope.pop()
            out.append(c)
            i += 1
        elif c == "#" and verbose:
            end = source.find("\n", i)
            end = n if end < 0 else end
            out.append(source[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _class(source: str, i: int, ascii_only: bool, out: list[str]) -> int:
    """Translate the class opening at ``source[i]``; append it and return the index after it."""
    j = i + 1
    negated = source.startswith("^", j)
    j += negated
    items: list[str] = []  # the class's own items, in regex syntax
    plain: set[str] = set()  # the same, as written, for the idioms
    negatives: list[str] = []  # "W", "S", "D" held by the class
    first = True
    while j < len(source) and (source[j] != "]" or first):
        first = False
        c = source[j]
        if c == "\\" and j + 1 < len(source):
            nxt = source[j + 1]
            if nxt in "wsd" and not ascii_only:
                items.append(_BODY[nxt])
            elif nxt in "WSD" and not ascii_only:
                negatives.append(nxt)
                j += 2
                continue
            else:
                items.append(c + nxt)
            plain.add(c + nxt)
            j += 2
        else:
            items.append("\\" + c if c in "[]" else c)  # a "]" here is the class's first
            plain.add(c)
            j += 1
    body = "".join(items)
    if not negatives:
        out.append(f"[{'^' if negated else ''}{body}]")
    elif not negated:
        branches = ([f"[{body}]"] if body else []) + [f"[^{_BODY[x.lower()]}]" for x in negatives]
        out.append("(?:" + "|".join(branches) + ")")
    elif len(negatives) == 1 and (negatives[0], frozenset(plain)) in _IDIOMS:
        out.append(_IDIOMS[(negatives[0], frozenset(plain))])
    else:
        # not (items or not B1 or not B2...) = not items, and B1, and B2...
        tests = ([f"(?![{body}])"] if body else []) + [
            f"(?=[{_BODY[x.lower()]}])" for x in negatives[:-1]
        ]
        out.append("(?:" + "".join(tests) + f"[{_BODY[negatives[-1].lower()]}])")
    return j + 1


def regex_form(source: str, flags: int) -> tuple[str, int]:
    """The pattern and flags ``regex`` compiles for ``re``'s ``source`` and ``flags``."""
    rflags = regex.VERSION0
    for mine, theirs in _FLAGS:
        if flags & mine:
            rflags |= theirs
    return translate(source, flags), rflags


def _regex_compile(source: str, flags: int) -> Any:
    return regex.compile(*regex_form(source, flags))


#: compiles (source, re flags) into an object with regex's pattern methods (``timeout=``
#: included); bench/bench_budget.py swaps in ``re`` to measure what the budget costs
ENGINE: Callable[[str, int], Any] = _regex_compile


class BudgetExceeded(Exception):
    """The check ran past its time budget."""


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Patterns run inside the block stop once ``seconds`` have passed (None: no limit)."""
    token = _DEADLINE.set(None if seconds is None else _clock() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds left in the current budget (None when there is none); raises once it is spent."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    left = deadline - _clock()
    if left <= 0:
        raise BudgetExceeded
    return left


def _guarded(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args, timeout=time_left())
    except TimeoutError as exc:
        raise BudgetExceeded from exc


class Pattern:
    """A compiled pattern with ``re.Pattern``'s methods, run within the current budget.

    ``pattern`` and ``flags`` are the source and the ``re`` flags it was compiled with, so the
    parse-tree tools (prefilter, fastre, backtracking) read it as they read an ``re.Pattern``."""

    __slots__ = ("_rx", "flags", "pattern")

    def __init__(self, source: str, flags: int = 0) -> None:
        # re first: the same syntax errors (re.error) as before, and the flags re reads inline
        checked = re.compile(source, flags)
        self._rx = ENGINE(source, checked.flags)
        self.pattern = source
        self.flags = checked.flags

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r}, {self.flags})"

    def search(self, string: str, pos: int = 0, endpos: int | None = None) -> Any:
        """``re.Pattern.search``."""
        return _guarded(self._rx.search, string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int | None = None) -> Any:
        """``re.Pattern.match``."""
        return _guarded(self._rx.match, string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int | None = None) -> Any:
        """``re.Pattern.fullmatch``."""
        return _guarded(self._rx.fullmatch, string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int | None = None) -> Iterator[Any]:
        """``re.Pattern.finditer``; the budget covers the whole iteration."""
        it = _guarded(self._rx.finditer, string, pos, endpos)
        try:
            yield from it
        except TimeoutError as exc:
            raise BudgetExceeded from exc

    def findall(self, string: str, pos: int = 0, endpos: int | None = None) -> list[Any]:
        """``re.Pattern.findall``."""
        return list(_guarded(self._rx.findall, string, pos, endpos))

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        """``re.Pattern.sub``."""
        return str(_guarded(self._rx.sub, repl, string, count))

    def subn(self, repl: Any, string: str, count: int = 0) -> tuple[str, int]:
        """``re.Pattern.subn``."""
        out, n = _guarded(self._rx.subn, repl, string, count)
        return str(out), int(n)

    def split(self, string: str, maxsplit: int = 0) -> list[Any]:
        """``re.Pattern.split``."""
        return list(_guarded(self._rx.split, string, maxsplit))
