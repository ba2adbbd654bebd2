"""``links``: every link must point to an allow-listed domain or its subdomains (G14).

Links are found with or without a scheme ("kestrelfootwear.com/p/x", "https://bit.ly/x"); a bare
domain needs a known top-level domain so "e.g." or "Node.js" are not links. A host that imitates
an allowed one (contains the brand, or is a near spelling) gets a look-alike message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from policies.backtracking import compile_pattern
from policies.budget import Pattern
from policies.matching import Span
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

_TRAILING = ".,;:!?)]}>'\"」』）】。，！？…"


class LinkExtractor:
    """Finds links in text; configured with the pack's list of top-level domains."""

    max_links = 50  # enough for any real post; hostile input could hold thousands

    def __init__(self, tlds: Iterable[str]) -> None:
        tld = "|".join(
            sorted((re.escape(t.lower().lstrip(".")) for t in tlds), key=len, reverse=True)
        )
        self._scheme = re.compile(r"(?i)\b(?:https?|ftp)://([^\s/?#<>\"'，。、]+)[^\s<>\"'，。、]*")
        self._bare = compile_pattern(
            rf"(?i)(?<![\w@.\-/])(?:www\.)?((?:[\w-]+\.)+(?:{tld}))(?![\w-])"
            r"(?:[/?#][^\s<>\"'，。、]*)?"
            if tld
            else r"(?!x)x"
        )
        # every bare link ends in "." + a known TLD; most drafts have none, so the costly
        # pattern above (tried at every position) only runs on those that do
        self._bare_probe = compile_pattern(rf"(?i)\.(?:{tld})(?![\w-])" if tld else r"(?!x)x")
        self._run_char = Pattern(r"[\w.-]")

    def extract(self, text: str) -> list[tuple[str, Span]]:
        """Return (host, span) for every link in text."""
        if "." not in text:
            return []
        out: list[tuple[str, Span]] = []
        if "://" in text:  # every scheme link has it
            for m in self._scheme.finditer(text):
                out.append((_host(m.group(1)), _trim(text, m.span())))
                if len(out) >= self.max_links:
                    return out
        probe = self._bare_probe.search(text)
        if probe is None:
            return out
        # A bare link is a run of [\w.-] ending in a dot + TLD, and the probe finds the first
        # such ending: no bare link starts before the run holding it, so the pattern (tried at
        # every position) starts there instead of at 0; look-behinds still see what precedes.
        start = probe.start()
        # the pattern's own engine decides what [\w.-] holds (see policies/budget.py)
        while start > 0 and self._run_char.match(text, start - 1):
            start -= 1
        for m in self._bare.finditer(text, start):
            span = _trim(text, m.span())
            if any(span[0] < s[1] and s[0] < span[1] for _, s in out):
                continue
            out.append((_host(m.group(1)), span))
            if len(out) >= self.max_links:
                break
        return out


def _host(raw: str) -> str:
    host = raw.lower().rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


def _trim(text: str, span: Span) -> Span:
    start, end = span
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return (start, end)


@register("links")
class LinksRule(Rule):
    """Flag links whose host is not an allowed domain or a subdomain of one."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.allowed = [str(d).lower() for d in spec.get("allowed_domains") or []]
        self.brand_tokens = [str(b).lower() for b in spec.get("brand_tokens") or []]
        self.shorteners = {str(d).lower() for d in spec.get("shorteners") or []}
        self.lookalike_similarity = float(spec.get("lookalike_similarity", 85))
        self.lookalike_message = str(spec.get("lookalike_message", self.message))
        self.shortener_message = str(spec.get("shortener_message", self.message))

    def allowed_host(self, host: str) -> bool:
        """Whether host is an allowed domain or one of its subdomains."""
        return any(host == d or host.endswith("." + d) for d in self.allowed)

    def _lookalike(self, host: str) -> bool:
        if any(b in host for b in self.brand_tokens):
            return True
        return any(fuzz.ratio(host, d) >= self.lookalike_similarity for d in self.allowed)

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding per link to a domain that isn't allowed."""
        out: list[Finding] = []
        for host, span in doc.links:
            if self.allowed_host(host):
                continue
            if self._lookalike(host):
                message = self.lookalike_message
            elif host in self.shorteners:
                message = self.shortener_message
            else:
                message = self.message
            out.append(self.finding(doc, span, message=message, host=host))
        return out[: self.max_findings]
