""" "Don't ask twice": what a customer already told us, and replies that ask for it again.

Facts are read from the customer's own mentions (order numbers, e-mail, phone, size) and from
what triage stored on them (the product, and the problem of their latest complaint). Each fact
keeps the mention it came from and when, so an agent can check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.store.base import ORDER_NUMBER
from hub.models import Mention

KINDS = ("order", "email", "phone", "size", "product", "problem")
#: how many of a customer's mentions are read for facts (newest first)
SCAN_LIMIT = 200

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
# a phone: 8+ digits with the usual separators, not part of an order number or a longer run
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ().-]{6,}\d(?![\w-])")
DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
SIZE = re.compile(
    r"\b(?:size|sz|talla|n[uú]mero)\s*:?\s*(\d{1,2}(?:[.,]5)?)\b"
    r"|(?:尺码|码数|鞋码)\s*[:：]?\s*(\d{1,2}(?:\.5)?)"
    r"|(\d{2}(?:\.5)?)\s*码",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Fact:
    """One thing the customer told us: what kind, the value, where and when they said it."""

    kind: str
    value: str
    mention_id: int | None
    at: datetime | None


def after_at(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The part of an e-mail ``pattern`` from its "@" on, with its flags. Searched first (a quick
    scan from each "@"), it rules a text out at once, where the whole pattern tries a local part
    from every word character."""
    return re.compile(pattern.pattern[pattern.pattern.index("@") :], pattern.flags)


_EMAIL_DOMAIN = after_at(EMAIL)


def keys_in_text(text: str) -> list[tuple[str, str]]:
    """(kind, value) of the order numbers and e-mails written in one text: the facts that name
    one person (an order is bought by one customer, an e-mail is theirs), which
    ``hub.customers.linking`` reads at every ingest."""
    found = [("order", n.upper()) for n in ORDER_NUMBER.findall(text)]
    if _EMAIL_DOMAIN.search(text):
        found += [("email", e.lower()) for e in EMAIL.findall(text)]
    return found


def facts_in_text(text: str) -> list[tuple[str, str]]:
    """(kind, value) of the order numbers, e-mails, phones and sizes written in one text."""
    found = keys_in_text(text)
    rest = ORDER_NUMBER.sub(" ", EMAIL.sub(" ", text))
    for raw in PHONE.findall(rest):
        digits = re.sub(r"\D", "", raw)
        if 8 <= len(digits) <= 15 and not DATE.fullmatch(raw.strip()):
            found.append(("phone", raw.strip()))
    for m in SIZE.finditer(text):
        found.append(("size", next(g for g in m.groups() if g).replace(",", ".")))
    return found


def _problem(mention: Mention) -> str | None:
    attrs = mention.attributes or {}
    if attrs.get("intent") != "complaint":
        return None
    parts = [str(attrs.get("stage") or ""), *[str(t) for t in attrs.get("triggers") or []]]
    return " · ".join(p for p in parts if p) or "complaint"


def facts_from_mentions(mentions: list[Mention]) -> list[Fact]:
    """The facts in ``mentions`` (newest first): one per kind and value, from its latest
    mention; one product (the latest) and one problem (the latest complaint)."""
    facts: dict[tuple[str, str], Fact] = {}
    for m in mentions:
        pairs = facts_in_text(m.text)
        product = (m.attributes or {}).get("product")
        if product and not any(k == "product" for k, _ in facts):
            pairs.append(("product", str(product)))
        problem = _problem(m)
        if problem and not any(k == "problem" for k, _ in facts):
            pairs.append(("problem", problem))
        for kind, value in pairs:
            facts.setdefault((kind, value), Fact(kind, value, m.id, m.created_at))
    return sorted(facts.values(), key=lambda f: (KINDS.index(f.kind), -(f.mention_id or 0)))


def customer_facts(session: Session, customer_id: int) -> list[Fact]:
    """What the customer already told us, across all their mentions on every platform."""
    mentions = list(
        session.scalars(
            select(Mention)
            .where(Mention.customer_id == customer_id)
            .order_by(Mention.created_at.desc(), Mention.id.desc())
            .limit(SCAN_LIMIT)
        )
    )
    return facts_from_mentions(mentions)


# What a reply says when it asks for something: the thing asked for (per kind) and a request
# around it, in each language the company answers in.
_NOUNS: dict[str, dict[str, str]] = {
    "en": {
        "order": r"order\s*(?:number|no\.?|#|id|confirmation)",
        "email": r"e-?mail(?:\s*address)?",
        "phone": r"(?:phone|mobile|cell)(?:\s*number)?",
        "size": r"\bsize\b",
        "product": r"which\s+(?:shoe|model|product|pair|style)|product\s+name|model\s+name",
        "problem": r"what\s+(?:is|was|'s)\s+(?:the\s+)?(?:problem|issue|wrong)|what\s+happened|"
        r"describe\s+(?:the|your)\s+(?:problem|issue)",
    },
    "es": {
        "order": r"n[uú]mero\s+de\s+(?:pedido|orden|compra)",
        "email": r"correo(?:\s+electr[oó]nico)?|e-?mail",
        "phone": r"tel[eé]fono|n[uú]mero\s+de\s+(?:celular|m[oó]vil)|whatsapp",
        "size": r"\btalla\b|\bn[uú]mero\s+de\s+calzado",
        "product": r"qu[eé]\s+(?:modelo|producto|zapato|tenis)|nombre\s+del\s+(?:producto|modelo)",
        "problem": r"cu[aá]l\s+(?:es|fue)\s+el\s+problema|qu[eé]\s+(?:pas[oó]|sucedi[oó])",
    },
    "zh": {
        "order": r"订单号|订单编号|订单号码",
        "email": r"邮箱|电子邮件|邮件地址",
        "phone": r"电话|手机号|联系方式",
        "size": r"尺码|码数|鞋码",
        "product": r"哪款|哪个型号|型号|产品名称",
        "problem": r"什么问题|怎么了|发生了什么|遇到.*问题",
    },
}
_ASKS = {
    # "DM us your…" asks; "we'll DM you" does not
    "en": r"\?|\b(?:dm\s+(?:us|me)|send|share|provide|give|tell|confirm|let\s+us\s+know|"
    r"what(?:'s|\s+is|\s+was)|could\s+you|can\s+you|would\s+you|please|need)\b",
    "es": r"[¿?]|\b(?:comparte|compartes|compartir|env[ií]a|env[ií]anos|m[aá]nda(?:nos)?|"
    r"ind[ií]ca(?:nos)?|proporciona(?:r)?|dinos|d[ií]ganos|podr[ií]as?|puedes|pueden|"
    r"por\s+favor|necesitamos|cu[aá]l\s+es|confirma(?:r)?)\b",
    "zh": r"请|提供|告诉|发给|发送|私信|是多少|是什么|[？?]|吗|麻烦",
}
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")


def asks_for_known_fact(draft_text: str, facts: list[Fact], language: str | None) -> list[Fact]:
    """The known facts a draft reply asks the customer for again (one per kind asked).

    A sentence asks for a kind when it names the thing (``order number``, ``número de pedido``,
    ``订单号``) and makes a request (a question, "can you", "comparte", "请"). The draft's language
    is tried first; the others too, since agents mix languages."""
    known: dict[str, Fact] = {}
    for f in facts:
        known.setdefault(f.kind, f)
    if not known or not draft_text.strip():
        return []
    order = [language] if language in _NOUNS else []
    order += [lang for lang in _NOUNS if lang not in order]
    asked: list[Fact] = []
    for sentence in _SENTENCE.findall(draft_text):
        for lang in order:
            if not re.search(_ASKS[lang], sentence, re.IGNORECASE):
                continue
            for kind, noun in _NOUNS[lang].items():
                if (
                    kind in known
                    and known[kind] not in asked
                    and re.search(noun, sentence, re.IGNORECASE)
                ):
                    asked.append(known[kind])
    return asked
