"""``pii``: customer personal data in a public draft (G5).

Phones are confirmed with ``phonenumbers`` in the pack's regions and card numbers with the Luhn
check from ``python-stdnum``; both are slow compared with a regex, so they only run on candidates
a cheap digit-run regex found. Kestrel's own public numbers and email domains are allowed.
Emails (also "name at gmail dot com"), KF order numbers (also spaced or spelled out), partial card
numbers (also spelled out) and street addresses are regexes from the pack. Their boundaries are
written as "not a letter or digit of a Latin word" rather than ``\b``: Chinese characters are
word characters to the regex engine, so ``\b`` found no boundary in "订单KF-12345678已发出".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

import phonenumbers
from stdnum import luhn

from policies.backtracking import compile_pattern
from policies.budget import Pattern
from policies.fastre import accelerate
from policies.matching import Span
from policies.prefilter import Test, prefilter
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder
    from policies.normalize import Normalized

_DIGITS = re.compile(r"\d")


def _compile(patterns: Any, flags: int = 0) -> list[Pattern]:
    # most detectors run on the plain view, which is already case-folded
    return [compile_pattern(str(p), flags) for p in patterns or []]


def _gated(patterns: list[Pattern]) -> list[tuple[Pattern, Test | None]]:
    """Each regex (in its faster, same-matches form) with its prefilter (False: it cannot match
    this text, skip it)."""
    return [(accelerate(rx), prefilter(rx)) for rx in patterns]


def _first(matches: Iterable[re.Match[str]], n: int) -> Iterator[re.Match[str]]:
    return islice(matches, n)


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < o[1] and o[0] < span[1] for o in others)


def _claim(
    kind: str,
    patterns: list[tuple[Pattern, Test | None]],
    view: Normalized,
    limit: int,
    found: list[tuple[str, Span]],
    taken: list[Span],
) -> None:
    """Add each match of ``patterns`` in ``view`` (a pattern only where its prefilter lets it)
    that no earlier finding covers, as a ``kind`` finding at its span in the original text."""
    for rx, gate in patterns:
        if gate is not None and not gate(view.text):
            continue
        for m in _first(rx.finditer(view.text), limit):
            span = view.to_original(*m.span())
            if not _overlaps(span, taken):
                found.append((kind, span))
                taken.append(span)


@register("pii")
class PiiRule(Rule):
    """Phones, cards (full and partial), emails, order numbers and street addresses."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.messages: dict[str, str] = dict(spec.get("messages") or {})
        self.public_numbers = [re.sub(r"\D", "", str(n)) for n in spec.get("public_numbers") or []]
        self.public_domains = [str(d).lower() for d in spec.get("public_email_domains") or []]
        phone = spec.get("phone") or {}
        self.regions = [str(r) for r in phone.get("regions") or ["US"]]
        self.phone_min = int(phone.get("min_digits", 9))
        self.phone_max = int(phone.get("max_digits", 15))
        self.phone_candidate = compile_pattern(str(phone["candidate"]))
        card = spec.get("card") or {}
        self.card_candidate = compile_pattern(str(card["candidate"]))
        self.partial_card = _compile(spec.get("partial_card"))
        self.partial_card_spelled = _compile(spec.get("partial_card_spelled"))
        self.email = [accelerate(rx) for rx in _compile(spec.get("email"))]
        self.email_obfuscated = [accelerate(rx) for rx in _compile(spec.get("email_obfuscated"))]
        self.order_number = _compile(spec.get("order_number"))
        # English addresses rely on capitalised street names, so they run case-sensitively
        self.address_cased = _compile(spec.get("address_cased"), 0)
        self.address_spelled = _compile(spec.get("address_spelled"), 0)
        self.address = _compile(spec.get("address"))
        # cheap probes so the detectors above only run on drafts that could contain their data
        probes = spec.get("probes") or {}
        self.email_probe = compile_pattern(str(probes.get("email", ".")))
        self.obfuscated_probe = compile_pattern(str(probes.get("email_obfuscated", ".")))
        self.order_probe = compile_pattern(str(probes.get("order", ".")))
        self._partial_card = _gated(self.partial_card)
        self._partial_card_spelled = _gated(self.partial_card_spelled)
        self._address_cased = _gated(self.address_cased)
        self._address_spelled = _gated(self.address_spelled)
        self._address = _gated(self.address)
        self._order_number = _gated(self.order_number)

    def _public_number(self, digits: str) -> bool:
        return any(digits.endswith(p) or p.endswith(digits) for p in self.public_numbers if p)

    def _phones(self, candidate: str) -> list[Span]:
        """Spans of customer phone numbers inside a candidate run (public numbers skipped)."""
        for region in self.regions:
            spans: list[Span] = []
            matched = False
            for m in phonenumbers.PhoneNumberMatcher(
                candidate, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                matched = True
                digits = "".join(_DIGITS.findall(m.raw_string))
                if len(digits) >= self.phone_min and not self._public_number(digits):
                    spans.append((m.start, m.end))
            if matched:  # the first region that reads the run as phone numbers decides
                return spans
        return []

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding per piece of customer data found."""
        found = self._collect(doc)
        out: list[Finding] = []
        seen: list[Span] = []
        for what, span in found:
            if _overlaps(span, seen):
                continue
            seen.append(span)
            out.append(self.finding(doc, span, message=self.messages.get(what, self.message)))
            if len(out) >= self.max_findings:
                break
        return out

    def _collect(self, doc: Doc) -> list[tuple[str, Span]]:
        """(what, original span) of every candidate, in detector order, capped for huge texts."""
        limit = 4 * self.max_findings  # hostile texts can hold thousands; a handful is enough
        text = doc.text
        found: list[tuple[str, Span]] = []
        taken: list[Span] = [span for _, span in doc.links]
        plain = doc.plain
        # each detector needs a minimum of digits; counting them once skips most detectors
        ndigits = len(_DIGITS.findall(text))
        if ndigits >= 13:
            for m in _first(self.card_candidate.finditer(text), limit):
                digits = "".join(_DIGITS.findall(m.group()))
                if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                    found.append(("card", m.span()))
                    taken.append(m.span())
        # the last four in digits, or written out in words (no digits at all)
        partial = (self._partial_card if ndigits >= 4 else []) + self._partial_card_spelled
        _claim("partial_card", partial, plain, limit, found, taken)
        if ndigits >= self.phone_min:
            for m in _first(self.phone_candidate.finditer(text), limit):
                span = m.span()
                digits = "".join(_DIGITS.findall(m.group()))
                if len(digits) < self.phone_min or _overlaps(span, taken):
                    continue
                if len(digits) <= self.phone_max and self._public_number(digits):
                    continue
                rest = digits
                for p in self.public_numbers:
                    rest = rest.replace(p, "")
                if len(rest) < self.phone_min:
                    continue  # a public number plus a stray group, e.g. "1-800-537-8735 (1-800"
                for s, e in self._phones(m.group()):
                    found.append(("phone", (span[0] + s, span[0] + e)))
                    taken.append((span[0] + s, span[0] + e))
        # a house number written out has no digit
        for rx, gate in self._address_spelled + (self._address_cased if ndigits else []):
            if gate is None or gate(text):
                found.extend(("address", m.span()) for m in _first(rx.finditer(text), limit))
        if ndigits:
            for rx, gate in self._address:
                if gate is not None and not gate(plain.text):
                    continue
                found.extend(
                    ("address", plain.to_original(*m.span()))
                    for m in _first(rx.finditer(plain.text), limit)
                )
        # spaced-out order numbers ("K F 2 0 4 8 …") are joined in the folded view
        for view in (plain, doc.folded) if doc.folded is not plain else (plain,):
            if self.order_probe.search(view.text):
                _claim("order", self._order_number, view, limit, found, taken)
        emails = list(self.email) if self.email_probe.search(plain.text) else []
        if self.obfuscated_probe.search(plain.text):
            emails += self.email_obfuscated
        if emails:
            for rx in emails:
                for m in _first(rx.finditer(plain.text), limit):
                    domain = (m.groupdict().get("domain") or "").lower()
                    if any(domain == d or domain.endswith("." + d) for d in self.public_domains):
                        continue
                    span = plain.to_original(*m.span())
                    if not _overlaps(span, [s for _, s in found]):
                        found.append(("email", span))
        return found
