"""Catastrophic backtracking in a pack's regular expressions, found before the pack is used.

Python's ``re`` is a backtracking matcher: a pattern in which a repeated part can match the same
text in more than one way (``(a+)+``, ``(a|a)*``, ``(\\w+\\s?)*``) makes it try every way when the
text does not match, so the work doubles with each character. One such pattern in a pack freezes
every check. Three things here keep that out:

* **Every pack regex is known.** Rules, the normaliser and the link extractor compile the text
  of a pack through :func:`compile_pattern`; while :func:`recording` is open, each one is noted
  as a :class:`PackPattern` with its owner (a rule id, ``mix``, ``normalize`` or ``links``), so
  ``Pack.patterns`` lists them all whatever route (a word list's ``re:`` term, a ``pattern``
  rule, a PII detector, a hand-written pack) put them there.
* **A static check** (:func:`exponential_witness`) builds the pattern's position automaton from
  the parse tree ``re.compile`` itself uses (``re._parser``), keeping how many ways the matcher
  can step from one position to the next, and looks for *exponential ambiguity*: a position from
  which two different paths read the same text and come back to it (Allauzen, Mohri and Rastogi,
  "General algorithms for testing the ambiguity of finite automata", 2008: a strongly connected
  part of the automaton squared holding a pair (q, q) and a pair (p, r) with p != r, or a
  doubled step). Look-arounds count as empty (their own bodies are checked on their own) and
  bounded repeats as loops, which can only err towards refusing; back references count as
  empty and character classes are compared on sample characters (the pattern's own, range
  ends and one of each kind), which can miss a case: the measurement is the second line. It
  returns the text that shows the blow-up (``prefix + pump * n + suffix``).
* **A measurement** (:func:`measure`) runs each pattern in a separate Python process on hostile
  texts made from the pattern itself (every loop of its automaton pumped to the pack's
  ``max_chars``, every character class repeated, each with a tail that cannot match) with a
  per-run budget of CPU time (``SIGVTALRM``, which ``re`` and ``regex`` honour between steps),
  on both engines (checks run on ``regex``: see policies/budget.py). It catches what the static
  check leaves to it: polynomial blow-ups (``\\d*\\d*\\d*x``) and whatever the
  approximations above let through. Whatever still slips through is stopped at run time by
  each check's time budget (:mod:`policies.budget`).

Hand-written because nothing maintained fits: ``regexploit`` (the reference Python ReDoS
finder) has had no release since 2021 and reads patterns with the deprecated ``sre_parse``;
``redoctor`` is under a non-commercial licence; RE2 (``google-re2``) is linear-time but has no
look-arounds, which most of the shipped pack's patterns use, and its ``\\w``, ``\\d`` and ``\\b``
are ASCII-only, so running the pack on it would change decisions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from policies.budget import Pattern, regex_form
from policies.prefilter import CATEGORY_CLASSES

try:  # the stdlib's own regex parser (private module, present in CPython 3.11-3.13)
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python implementation
    _p = None  # type: ignore[assignment]

__all__ = [
    "PackPattern",
    "PatternProblem",
    "Witness",
    "compile_pattern",
    "exponential_witness",
    "hostile_texts",
    "measure",
    "owned_by",
    "pattern_problems",
    "recording",
]

# ------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class PackPattern:
    """A regular expression compiled from a pack's text, and who compiled it."""

    owner: str  # a rule id, or "mix", "normalize", "links"
    source: str
    flags: int = 0


_RECORD: ContextVar[list[PackPattern] | None] = ContextVar("pack_patterns", default=None)
_OWNER: ContextVar[str] = ContextVar("pack_pattern_owner", default="")


def compile_pattern(source: str, flags: int = 0) -> Pattern:
    """Compile a regular expression written in (or built from) a pack; noted while recording.

    It runs within the check's time budget (see policies/budget.py)."""
    rx = Pattern(source, flags)
    found = _RECORD.get()
    if found is not None:
        found.append(PackPattern(_OWNER.get(), source, flags))
    return rx


@contextmanager
def recording() -> Iterator[list[PackPattern]]:
    """Collect every :func:`compile_pattern` call made inside the block (this thread only)."""
    found: list[PackPattern] = []
    token = _RECORD.set(found)
    try:
        yield found
    finally:
        _RECORD.reset(token)


@contextmanager
def owned_by(owner: str) -> Iterator[None]:
    """Patterns compiled inside the block belong to ``owner`` (a rule id, "mix"...)."""
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


# --------------------------------------------------------------------------- the automaton

# characters every alphabet holds besides the pattern's own: one of each kind a class may
# single out (letters, digits, spaces, punctuation, accented and CJK letters, controls)
_COMMON = "az AZ09_\t\n.,-!?@#/'\"$%()[]éñÑ中ア\u00a0\u3000\x00~"
# Limits on the analysis itself, so that a pattern written to be expensive to analyse cannot
# hold a request: past them the static check answers "don't know" and the timing decides.
_MAX_POSITIONS = 3000
_MAX_ALPHABET = 400
_MAX_STEPS = 3_000_000  # pairs of steps looked at in the automaton squared
_MAX_CYCLE_SEARCHES = 200
_CATEGORY = {
    **CATEGORY_CLASSES,
    "CATEGORY_LINEBREAK": r"\n",
    "CATEGORY_NOT_LINEBREAK": r"[^\n]",
}


def _name(op: Any) -> str:
    return str(getattr(op, "name", op))


@lru_cache(maxsize=64)
def _category(name: str, ascii_only: bool) -> re.Pattern[str] | None:
    src = _CATEGORY.get(name)
    return re.compile(src, re.ASCII if ascii_only else 0) if src else None


@dataclass(frozen=True)
class _Mode:
    icase: bool
    ascii: bool
    dotall: bool

    @staticmethod
    def of(flags: int) -> _Mode:
        return _Mode(bool(flags & re.IGNORECASE), bool(flags & re.ASCII), bool(flags & re.DOTALL))

    def changed(self, add: int, remove: int) -> _Mode:
        def one(bit: int, now: bool) -> bool:
            return (now or bool(add & bit)) and not remove & bit

        return _Mode(
            one(re.IGNORECASE, self.icase), one(re.ASCII, self.ascii), one(re.DOTALL, self.dotall)
        )


def _variants(ch: str, mode: _Mode) -> set[str]:
    return {ch, ch.lower(), ch.upper()} if mode.icase else {ch}


def _member(op: str, av: Any, mode: _Mode, ch: str) -> bool:
    """Whether ``ch`` matches the one-character atom (op, av)."""
    chars = _variants(ch, mode)
    if op == "LITERAL":
        return chr(av) in chars or (mode.icase and chr(av).lower() in {c.lower() for c in chars})
    if op == "NOT_LITERAL":
        return not _member("LITERAL", av, mode, ch)
    if op == "ANY":
        return mode.dotall or ch != "\n"
    if op == "IN":
        negate = False
        hit = False
        for item_op, item_av in av:
            kind = _name(item_op)
            if kind == "NEGATE":
                negate = True
            elif kind == "LITERAL":
                hit = hit or _member("LITERAL", item_av, mode, ch)
            elif kind == "RANGE":
                hit = hit or any(item_av[0] <= ord(c) <= item_av[1] for c in chars)
            elif kind == "CATEGORY":
                rx = _category(_name(item_av), mode.ascii)
                hit = hit or rx is None or any(rx.fullmatch(c) for c in chars)
            else:  # an item this reader does not know: assume it may match
                hit = True
        return hit != negate
    return True


class _Frag:
    """A piece of the automaton: ways to match it empty, entry and exit positions with the
    number of ways to reach them (counts capped at 2: only "more than one" matters)."""

    __slots__ = ("first", "last", "null")

    def __init__(self, null: int, first: dict[int, int], last: dict[int, int]) -> None:
        self.null = null
        self.first = first
        self.last = last


def _add(into: dict[int, int], key: int, n: int) -> None:
    if n:
        into[key] = min(2, into.get(key, 0) + n)


def _merged(*parts: tuple[dict[int, int], int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for d, scale in parts:
        for k, v in d.items():
            _add(out, k, v * scale)
    return out


class _TooBig(Exception):
    pass


class _Automaton:
    """The position automaton of one pattern (look-around bodies become their own)."""

    def __init__(self, items: Any, mode: _Mode) -> None:
        self.atoms: list[tuple[str, Any, _Mode]] = []
        self.follow: list[dict[int, int]] = []
        self.lookarounds: list[tuple[Any, _Mode]] = []
        self.chars: dict[str, None] = {}
        self.start = self._seq(items, mode)
        own = list(self.chars)[: _MAX_ALPHABET - len(_COMMON)]
        self.alphabet = own + [c for c in _COMMON if c not in self.chars]
        self.masks = [self._mask(op, av, m) for op, av, m in self.atoms]

    # -- building
    def _mask(self, op: str, av: Any, mode: _Mode) -> int:
        mask = 0
        for i, ch in enumerate(self.alphabet):
            if _member(op, av, mode, ch):
                mask |= 1 << i
        return mask

    def _note(self, code: int, mode: _Mode) -> None:
        for c in _variants(chr(code), mode):
            self.chars.setdefault(c)

    def _atom(self, op: str, av: Any, mode: _Mode) -> _Frag:
        if len(self.atoms) >= _MAX_POSITIONS:
            raise _TooBig
        if op in ("LITERAL", "NOT_LITERAL"):
            self._note(av, mode)
        elif op == "IN":
            for item_op, item_av in av:
                if _name(item_op) == "LITERAL":
                    self._note(item_av, mode)
                elif _name(item_op) == "RANGE":
                    for code in (item_av[0], item_av[1], min(item_av[0] + 1, item_av[1])):
                        self._note(code, mode)
        self.atoms.append((op, av, mode))
        self.follow.append({})
        pos = len(self.atoms) - 1
        return _Frag(0, {pos: 1}, {pos: 1})

    def _cat(self, a: _Frag, b: _Frag) -> _Frag:
        for last, n in a.last.items():
            for first, m in b.first.items():
                _add(self.follow[last], first, n * m)
        return _Frag(
            min(2, a.null * b.null),
            _merged((a.first, 1), (b.first, a.null)),
            _merged((b.last, 1), (a.last, b.null)),
        )

    def _seq(self, items: Iterable[tuple[Any, Any]], mode: _Mode) -> _Frag:
        frag = _Frag(1, {}, {})
        for op, av in items:
            frag = self._cat(frag, self._node(_name(op), av, mode))
        return frag

    def _node(self, op: str, av: Any, mode: _Mode) -> _Frag:
        if op in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            return self._atom(op, av, mode)
        if op == "BRANCH":
            frags = [self._seq(branch, mode) for branch in av[1]]
            return _Frag(
                min(2, sum(f.null for f in frags)),
                _merged(*((f.first, 1) for f in frags)),
                _merged(*((f.last, 1) for f in frags)),
            )
        if op == "SUBPATTERN":
            _group, add, remove, sub = av
            return self._seq(sub, mode.changed(add, remove))
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            if hi == 0:
                return _Frag(1, {}, {})
            body = self._seq(sub, mode)
            if hi == 1:
                return _Frag(min(2, body.null + (lo == 0)), body.first, body.last)
            # a loop (a bounded repeat too: {2,50} can take as many ways as * in practice)
            for last, n in body.last.items():
                for first, m in body.first.items():
                    _add(self.follow[last], first, n * m)
            return _Frag(1 if lo == 0 else body.null, body.first, body.last)
        if op == "ATOMIC_GROUP":
            return self._seq(av, mode)
        if op in ("ASSERT", "ASSERT_NOT"):
            self.lookarounds.append((av[1], mode))
            return _Frag(1, {}, {})
        if op == "GROUPREF_EXISTS":
            _group, yes, no = av
            a = self._seq(yes, mode)
            b = self._seq(no, mode) if no is not None else _Frag(1, {}, {})
            return _Frag(
                min(2, a.null + b.null),
                _merged((a.first, 1), (b.first, 1)),
                _merged((a.last, 1), (b.last, 1)),
            )
        return _Frag(1, {}, {})  # AT (anchors, \b), GROUPREF: they read no character here

    # -- reading
    def char(self, mask: int) -> str:
        """A character of the alphabet in mask (the pattern's own characters first)."""
        return self.alphabet[(mask & -mask).bit_length() - 1]

    def path_to(self, target: int) -> str:
        """The shortest text that leaves the automaton at ``target`` (having read it)."""
        prev: dict[int, int | None] = {p: None for p in self.start.first}
        queue = deque(self.start.first)
        while queue:
            p = queue.popleft()
            if p == target:
                break
            for q in self.follow[p]:
                if q not in prev and self.masks[q]:
                    prev[q] = p
                    queue.append(q)
        if target not in prev:
            return ""
        out: list[str] = []
        node: int | None = target
        while node is not None:
            out.append(self.char(self.masks[node]))
            node = prev[node]
        return "".join(reversed(out))

    def cycle(self, start: int) -> str | None:
        """The shortest non-empty text that leads from ``start`` back to it, or None."""
        prev: dict[int, int] = {}
        queue: deque[int] = deque()
        for q in self.follow[start]:
            if self.masks[q] and q not in prev:
                prev[q] = start
                queue.append(q)
        while queue:
            p = queue.popleft()
            if p == start:
                out = [self.char(self.masks[start])]
                node = prev[start]
                while node != start:
                    out.append(self.char(self.masks[node]))
                    node = prev[node]
                return "".join(reversed(out))
            for q in self.follow[p]:
                if q not in prev and self.masks[q]:
                    prev[q] = p
                    queue.append(q)
        return None

    def foreign(self) -> str:
        """A character that as few positions as possible match (a tail that makes it fail)."""
        best, count = "\x00", len(self.masks) + 1
        for i, ch in enumerate(self.alphabet):
            n = sum(1 for m in self.masks if m >> i & 1)
            if n < count:
                best, count = ch, n
                if n == 0:
                    break
        return best


def _automata(source: str, flags: int) -> list[_Automaton]:
    """The pattern's automaton, then one per look-around body (nested ones too)."""
    if _p is None:  # pragma: no cover - another Python implementation
        return []
    tree = _p.parse(source, flags)
    todo: list[tuple[Any, _Mode]] = [(tree.data, _Mode.of(tree.state.flags))]
    out: list[_Automaton] = []
    while todo and len(out) < 64:
        items, mode = todo.pop(0)
        auto = _Automaton(items, mode)
        out.append(auto)
        todo.extend(auto.lookarounds)
    return out


# ------------------------------------------------------------------------ exponential paths


@dataclass(frozen=True)
class Witness:
    """Text on which the matcher's work doubles with every ``pump``: prefix, pump, suffix."""

    prefix: str
    pump: str
    suffix: str

    def text(self, length: int) -> str:
        """The witness grown to about ``length`` characters."""
        n = max(1, (length - len(self.prefix) - len(self.suffix)) // max(1, len(self.pump)))
        return self.prefix + self.pump * n + self.suffix

    def sample(self, length: int = 30) -> str:
        """A short form to show a person."""
        return self.text(length)


def _pairs_graph(
    auto: _Automaton,
) -> tuple[dict[tuple[int, int], list[tuple[int, int]]], list[tuple[int, int]]]:
    """The part of the automaton squared reachable from the pairs (q, q)."""
    follow, masks = auto.follow, auto.masks
    graph: dict[tuple[int, int], list[tuple[int, int]]] = {}
    roots = [(q, q) for q in range(len(masks)) if masks[q]]
    stack = list(roots)
    steps = 0
    while stack:
        node = stack.pop()
        if node in graph:
            continue
        p, r = node
        steps += len(follow[p]) * len(follow[r])
        if steps > _MAX_STEPS:
            raise _TooBig
        nexts = [(p2, r2) for p2 in follow[p] for r2 in follow[r] if masks[p2] & masks[r2]]
        graph[node] = nexts
        stack.extend(n for n in nexts if n not in graph)
    return graph, roots


def _components(graph: dict[tuple[int, int], list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[tuple[int, int], int] = {}
    low: dict[tuple[int, int], int] = {}
    on_stack: set[tuple[int, int]] = set()
    stack: list[tuple[int, int]] = []
    out: list[list[tuple[int, int]]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = graph[node]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _route(
    graph: dict[tuple[int, int], list[tuple[int, int]]],
    inside: set[tuple[int, int]],
    src: tuple[int, int],
    dst: tuple[int, int],
) -> list[tuple[int, int]]:
    """Pairs after src up to and including dst, staying inside one component."""
    prev: dict[tuple[int, int], tuple[int, int]] = {}
    queue = deque([src])
    seen = {src}
    while queue:
        node = queue.popleft()
        for nxt in graph[node]:
            if nxt in inside and nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                if nxt == dst:
                    out = [dst]
                    while out[-1] != src and prev[out[-1]] != src:
                        out.append(prev[out[-1]])
                    return list(reversed(out))
                queue.append(nxt)
    return [dst] if dst in graph[src] else []


def _witness_in(auto: _Automaton) -> Witness | None:
    graph, _roots = _pairs_graph(auto)
    for comp in _components(graph):
        members = set(comp)
        diagonal = [n for n in comp if n[0] == n[1]]
        if not diagonal:
            continue
        home = diagonal[0]
        off = next((n for n in comp if n[0] != n[1]), None)
        if off is not None:
            route = _route(graph, members, home, off) + _route(graph, members, off, home)
        else:
            # only pairs (q, q): exponential if some step q -> q2 inside can be taken two ways
            double = next(
                (
                    (a, b)
                    for a in diagonal
                    for b in graph[a]
                    if b in members and auto.follow[a[0]].get(b[0], 0) > 1
                ),
                None,
            )
            if double is None:
                continue
            a, b = double
            route = (_route(graph, members, home, a) if a != home else []) + [b]
            if b != home:
                route += _route(graph, members, b, home)
        pump = "".join(auto.char(auto.masks[p] & auto.masks[r]) for p, r in route)
        if not pump:
            continue
        return Witness(auto.path_to(home[0]), pump, auto.foreign())
    return None


@lru_cache(maxsize=4096)
def exponential_witness(source: str, flags: int = 0) -> Witness | None:
    """Text on which this pattern backtracks exponentially, or None if it cannot.

    None also when the pattern is too large to analyse (the measurement still runs on it)."""
    try:
        automata = _automata(source, flags)
        for auto in automata:
            found = _witness_in(auto)
            if found is not None:
                return found
    except (_TooBig, RecursionError):
        return None
    return None


# ------------------------------------------------------------------------------ hostile text

_MAX_TEXTS = 24


def hostile_texts(source: str, flags: int, length: int, limit: int = _MAX_TEXTS) -> list[str]:
    """Texts of about ``length`` characters likely to make this pattern work hardest.

    Each loop of the pattern pumped (the text that leads to it, then the loop's own text
    repeated), each character class repeated, each with a tail that makes the match fail."""
    try:
        automata = _automata(source, flags)
    except (_TooBig, RecursionError):
        automata = []
    witness = exponential_witness(source, flags)
    texts: dict[str, None] = {}
    if witness is not None:
        texts.setdefault(witness.text(length))
    singles: dict[str, None] = {}
    searches = 0
    for auto in automata:
        tail = auto.foreign()
        for q, mask in enumerate(auto.masks):
            if not mask:
                continue
            singles.setdefault(auto.char(mask) * length + tail)
            if len(texts) >= limit or searches >= _MAX_CYCLE_SEARCHES:
                continue
            searches += 1
            pump = auto.cycle(q)
            if pump:
                texts.setdefault(Witness(auto.path_to(q), pump, tail).text(length))
    for text in singles:
        if len(texts) >= limit + limit // 2:
            break
        texts.setdefault(text)
    return list(texts)


# ----------------------------------------------------------------------------- measurement

# Runs alone (python -I): only the standard library and ``regex``, no project code. Reads the job
# as JSON on stdin; prints one JSON line per pattern: its worst time in ms on either engine (``re``,
# which the parse-tree tools read, and ``regex``, which checks run on: see policies/budget.py),
# the index of the text that took it, and whether a run went over the budget (twice, to rule out
# a slow spell; a run is stopped there). Times are the child's CPU time (ITIMER_VIRTUAL,
# process_time), so other work on a busy machine does not count against a pattern; both engines
# stop on the timer's signal.
_CHILD = r"""
import json, re, signal, sys, time
import regex
class Over(Exception):
    pass
def stop(*_):
    raise Over
signal.signal(signal.SIGVTALRM, stop)
job = json.load(sys.stdin)
budget_ms = job["budget_ms"]
timer = max(budget_ms / 1000.0, 1e-6)  # 0 would switch the timer off
def too_slow(dt):
    return dt > budget_ms or budget_ms <= 0  # a budget of 0 admits no pattern
def run(rx, text):
    for attempt in (1, 2):
        stopped = False
        t0 = time.process_time()
        try:
            signal.setitimer(signal.ITIMER_VIRTUAL, timer)
            for _ in rx.finditer(text):
                pass
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        except Over:
            stopped = True
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        dt = (time.process_time() - t0) * 1000.0
        if stopped:  # the timer counts in clock ticks: it may fire a little early
            dt = max(dt, budget_ms + 1e-3)
        if not too_slow(dt):
            break
    return dt
for source, flags, rsource, rflags, texts in job["patterns"]:
    engines = (re.compile(source, flags), regex.compile(rsource, rflags))
    worst, which, over = 0.0, 0, False
    for i, text in enumerate(texts):
        dt = max(run(rx, text) for rx in engines)
        if dt > worst:
            worst, which = dt, i
        if too_slow(dt):
            over = True
            break
    print(json.dumps({"ms": worst, "text": which, "over": over}), flush=True)
"""


@dataclass(frozen=True)
class Measured:
    """The slowest run of one pattern over its hostile texts."""

    worst_ms: float
    text: str  # the text that took it
    over: bool  # over the budget (twice in a row)


_measured: dict[tuple[str, int, int, float], Measured] = {}
_measured_lock = threading.Lock()


def measure(
    patterns: Sequence[tuple[str, int]], length: int, budget_ms: float
) -> list[Measured | None]:
    """Time every pattern on its hostile texts of ``length`` characters, in a child process,
    each run stopped at ``budget_ms``. None for a pattern the child could not measure (it
    crashed or the whole run overran). Results under the budget are remembered."""
    out: list[Measured | None] = [None] * len(patterns)
    todo: list[int] = []
    with _measured_lock:
        for i, (source, flags) in enumerate(patterns):
            known = _measured.get((source, flags, length, budget_ms))
            if known is not None:
                out[i] = known
            else:
                todo.append(i)
    if not todo:
        return out
    texts = {i: hostile_texts(patterns[i][0], patterns[i][1], length) for i in todo}
    job = {
        "budget_ms": budget_ms,
        "patterns": [[*patterns[i], *regex_form(*patterns[i]), texts[i]] for i in todo],
    }
    runs = 2 * sum(len(t) for t in texts.values())  # each text on both engines
    # a stuck child (it should not be: every run is stopped at the budget) is ended here
    deadline = 30.0 + 2.5 * runs * budget_ms / 1000.0
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter running our own code
            [sys.executable, "-I", "-c", _CHILD],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=deadline,
            check=False,
        )
        lines = done.stdout.splitlines()
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        lines = (raw.decode() if isinstance(raw, bytes) else raw).splitlines()
    for i, line in zip(todo, lines, strict=False):
        try:
            row = json.loads(line)
            result = Measured(float(row["ms"]), texts[i][int(row["text"])], bool(row["over"]))
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        out[i] = result
        if not result.over:
            with _measured_lock:
                if len(_measured) >= 8192:
                    _measured.clear()
                _measured[(patterns[i][0], patterns[i][1], length, budget_ms)] = result
    return out


# ---------------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class PatternProblem:
    """Why one of a pack's patterns may not be used; ``message`` is for the person editing."""

    pattern: PackPattern
    kind: str  # "exponential" | "slow" | "unmeasured"
    message: str
    example: str = ""  # a short text that shows it (exponential only)
    worst_ms: float | None = None


def _show(text: str, width: int = 60) -> str:
    """Text quoted for a person: as written, cut at ``width``, control characters escaped."""
    shown = text if len(text) <= width else text[: width - 1] + "…"
    return "“" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown) + "”"


def pattern_problems(
    patterns: Iterable[PackPattern],
    *,
    max_chars: int,
    budget_ms: float,
    measure_time: bool = True,
) -> list[PatternProblem]:
    """Every pattern that can freeze a check: exponential by the static check, or slower than
    ``budget_ms`` on a hostile text of ``max_chars`` characters (when ``measure_time``)."""
    unique = list(dict.fromkeys(patterns))
    problems: list[PatternProblem] = []
    rest: list[PackPattern] = []
    for pat in unique:
        witness = exponential_witness(pat.source, pat.flags)
        if witness is None:
            rest.append(pat)
            continue
        sample = witness.sample()
        problems.append(
            PatternProblem(
                pat,
                "exponential",
                f"the regular expression {_show(pat.source)} can freeze the check: a repeated "
                "part of it can match the same text in more than one way (like (a+)+ or "
                f"(\\w+\\s?)*), so on a text like {_show(sample)} the work doubles with every "
                f"{_show(witness.pump)}. Rewrite it so each repetition can match only one way.",
                example=sample,
            )
        )
    if measure_time and rest:
        length = max(1, int(max_chars))
        results = measure([(p.source, p.flags) for p in rest], length, budget_ms)
        for pat, result in zip(rest, results, strict=True):
            if result is None:
                problems.append(
                    PatternProblem(
                        pat,
                        "unmeasured",
                        f"the regular expression {_show(pat.source)} could not be timed on "
                        "hostile text, so nothing shows it is safe; simplify it.",
                    )
                )
            elif result.over:
                problems.append(
                    PatternProblem(
                        pat,
                        "slow",
                        f"the regular expression {_show(pat.source)} took over {budget_ms:g} ms "
                        f"on a hostile text of {length} characters (like "
                        f"{_show(result.text, 30)}); every check would risk that long. Remove "
                        "repeats that can match the same characters one after another.",
                        worst_ms=result.worst_ms,
                    )
                )
    order = {p: i for i, p in enumerate(unique)}
    problems.sort(key=lambda x: order[x.pattern])
    return problems
