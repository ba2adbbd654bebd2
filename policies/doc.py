"""The per-check working object rules read from: views, lexicon hits and shared derived facts.

Everything is computed lazily and at most once per check, so a rule that needs the folded view or
the product classification pays for it only if no other rule already did.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

from policies.matching import Span, TermGroup, find
from policies.normalize import Normalized
from policies.types import Context, Draft

if TYPE_CHECKING:
    from policies.engine import Pack

# shared "no hits" answer of find(); callers only read it
_NONE: list[Span] = []
_SENTENCE_END = re.compile(r"(?<=[.!?。！？…])\s*|\n+")


class Doc:
    """One draft being checked, with cached views of the draft and of the customer's message."""

    def __init__(self, draft: Draft, context: Context, pack: Pack) -> None:
        self.draft = draft
        self.context = context
        self.pack = pack
        # content rules read at most the pack's max_chars: no platform publishes more, the length
        # rule still sees the whole draft, and hostile megabyte inputs stay cheap
        limit = pack.max_chars
        self.text = (draft.text or "")[:limit]
        self.reply_to = (draft.in_reply_to or "")[:limit]
        self._scans: dict[tuple[str, str], dict[int, list[Span]]] = {}
        # the draft's entries of _scans again, keyed by view alone (find's hot path)
        self._draft_scans: dict[str, dict[int, list[Span]]] = {}
        self._found: dict[tuple[int, str], list[Span]] = {}
        #: results one rule computes for others of its kind (the learned tier's scores)
        self.memo: dict[str, Any] = {}

    # -- views -------------------------------------------------------------------------------
    @cached_property
    def plain(self) -> Normalized:
        """The draft, case-folded with invisible characters and look-alikes undone."""
        return self.pack.normalizer.plain(self.text)

    @cached_property
    def folded(self) -> Normalized:
        """The plain view with leetspeak undone and spaced-out letters joined."""
        return self.pack.normalizer.fold(self.plain)

    @cached_property
    def reply_plain(self) -> Normalized:
        """The customer's message, plain view."""
        return self.pack.normalizer.plain(self.reply_to)

    @cached_property
    def reply_folded(self) -> Normalized:
        """The customer's message, folded view."""
        return self.pack.normalizer.fold(self.reply_plain)

    @cached_property
    def original(self) -> Normalized:
        """The draft exactly as typed (for case-sensitive patterns)."""
        return Normalized(self.text, None, len(self.text))

    @cached_property
    def reply_original(self) -> Normalized:
        """The customer's message exactly as typed."""
        return Normalized(self.reply_to, None, len(self.reply_to))

    def view(self, name: str, source: str = "draft") -> Normalized:
        """A view ("original", "plain" or "folded") of the draft or of the customer's message."""
        if name == "original":
            return self.reply_original if source == "reply_to" else self.original
        if source == "reply_to":
            return self.reply_folded if name == "folded" else self.reply_plain
        return self.folded if name == "folded" else self.plain

    def find(self, group: TermGroup, source: str = "draft") -> list[Span]:
        """Spans (in the group's view) where the group matches the draft or the reply_to text."""
        if group.regex is None and source == "draft":
            # the common case, kept lean (rules call this ~50 times a check): a plain word
            # list's hits are the view's automaton pass, looked up by group id
            scanned = self._draft_scans.get(group.view)
            if scanned is None:
                scanned = self._scan(group.view, "draft")
            return scanned.get(group.gid) or _NONE
        fkey = (group.gid, source)
        found = self._found.get(fkey)
        if found is not None:
            return found
        view = self.view(group.view, source)
        scanned = self._scans.get((group.view, source))
        if scanned is None:
            scanned = self._scan(group.view, source)
        found = find(group, view.text, scanned)
        self._found[fkey] = found
        return found

    def scanned(self, view_name: str) -> dict[int, list[Span]]:
        """The draft view's automaton pass: {group id: spans} of the word lists found."""
        found = self._draft_scans.get(view_name)
        return found if found is not None else self._scan(view_name, "draft")

    def _scan(self, view_name: str, source: str) -> dict[int, list[Span]]:
        scanned = self.pack.lexicon.scan(view_name, self.view(view_name, source).text)
        self._scans[(view_name, source)] = scanned
        if source == "draft":
            self._draft_scans[view_name] = scanned
        return scanned

    def original_span(self, view_name: str, span: Span) -> Span:
        """Map a draft-view span back to the original text."""
        return self.view(view_name).to_original(*span)

    # -- shared facts --------------------------------------------------------------------------
    @cached_property
    def language(self) -> str | None:
        """The draft's language per the pack's language rule, else the draft's own ``lang``."""
        detector = self.pack.language_detector
        found = detector.detect(self.text) if detector is not None else None
        return found or self.draft.lang

    @cached_property
    def language_hint(self) -> str | None:
        """The language when script and common words tell it (no statistical model), else None."""
        if "language" in self.__dict__:
            return self.language
        detector = self.pack.language_detector
        return detector.detect(self.text, use_model=False) if detector is not None else None

    @cached_property
    def is_product(self) -> bool | None:
        """Whether a post is product promotion (None for replies, which are service)."""
        if self.draft.kind != "post":
            return None
        return self.pack.mix.is_product(self)

    @cached_property
    def links(self) -> list[tuple[str, Span]]:
        """(host, original span) for every link in the draft."""
        return self.pack.links.extract(self.text)

    def sentences(self, text: str) -> list[Span]:
        """Sentence spans of a text (punctuation in en/es/zh, or newlines)."""
        spans: list[Span] = []
        start = 0
        for m in _SENTENCE_END.finditer(text):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if start < len(text):
            spans.append((start, len(text)))
        return spans
