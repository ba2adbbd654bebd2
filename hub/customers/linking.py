"""One customer across platforms: certain links, likely ones (with the evidence), and by hand.

- Certain: an identity belongs to one customer (platform + platform user id is unique), and two
  customers who posted the same order number or e-mail are the same person; they are merged,
  at ingest (``link_by_keys``: one indexed lookup per batch in ``customer_keys``).
- Likely: handles and display names that look alike (rapidfuzz); shown to an agent with the
  evidence, never merged without them.
- By hand: an agent merges two customers, or unlinks an identity into a customer of its own (its
  mentions go with it). Every link and unlink is an audit event.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from rapidfuzz import fuzz
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from hub.audit import record_event
from hub.customers.facts import keys_in_text
from hub.errors import UserError
from hub.i18n import _
from hub.models import (
    Customer,
    CustomerIdentity,
    CustomerKey,
    CustomerNote,
    Mention,
    Staff,
    utcnow,
)

#: a pair scoring this much or more is offered as a likely link
SUGGEST_AT = 80
#: identities compared per customer at most (the newest ones), to keep the page fast
CANDIDATES = 5000
_DOMAIN = re.compile(r"\.(?:bsky\.social|bsky\.team)$")


@dataclass(frozen=True)
class Evidence:
    """Why two customers look alike: "handle" (with both handles and the similarity) or
    "name" (the same display name)."""

    kind: str
    a: str = ""
    b: str = ""
    percent: int = 0


@dataclass(frozen=True)
class Suggestion:
    """Another customer who is likely the same person, how likely (0-100) and why."""

    customer: Customer
    score: int
    evidence: tuple[Evidence, ...]


def handle_key(handle: str) -> str:
    """A handle without @, the Bluesky domain, case and punctuation: "dana-kruger.bsky.social"
    and "@Dana_Kruger" both become "danakruger"."""
    h = _DOMAIN.sub("", handle.strip().lstrip("@").casefold())
    return re.sub(r"[\W_]+", "", h)


def name_key(name: str) -> str:
    """A display name without accents, case and extra spaces ("Dana Krüger" = "dana kruger")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def score_pair(
    handle_a: str, name_a: str, handle_b: str, name_b: str
) -> tuple[int, tuple[Evidence, ...]]:
    """How alike two identities are (0-100) and the evidence: the handle similarity, and the
    display name when it is the same. A same name alone is weak (many people share one), so
    it adds to a similar handle rather than standing on its own, and a full name (two words or
    more) adds more than a first name."""
    ha, hb = handle_key(handle_a), handle_key(handle_b)
    handle = round(fuzz.ratio(ha, hb)) if ha and hb else 0
    same_name = bool(name_key(name_a)) and name_key(name_a) == name_key(name_b)
    evidence: list[Evidence] = []
    if handle >= 60:
        evidence.append(Evidence("handle", handle_a, handle_b, handle))
    if same_name:
        evidence.append(Evidence("name", name_a, name_b))
    bonus = (15 if len(name_key(name_a).split()) > 1 else 5) if same_name else 0
    score = handle + bonus if handle >= 60 else (40 if same_name else handle)
    return min(score, 100), tuple(evidence)


def suggest_links(session: Session, customer: Customer, limit: int = 5) -> list[Suggestion]:
    """Other customers likely to be this one, best first, with the evidence."""
    mine = list(customer.identities)
    if not mine:
        return []
    others = session.scalars(
        select(CustomerIdentity)
        .options(selectinload(CustomerIdentity.customer))
        .where(CustomerIdentity.customer_id != customer.id)
        .order_by(CustomerIdentity.id.desc())
        .limit(CANDIDATES)
    )
    best: dict[int, Suggestion] = {}
    for other in others:
        for ident in mine:
            score, evidence = score_pair(
                ident.handle, customer.display_name, other.handle, other.customer.display_name
            )
            if score < SUGGEST_AT:
                continue
            held = best.get(other.customer_id)
            if held is None or score > held.score:
                best[other.customer_id] = Suggestion(other.customer, score, evidence)
    return sorted(best.values(), key=lambda s: (-s.score, s.customer.id))[:limit]


#: intents whose numbers are not the writer's own (a scammer quoting someone's order)
_NOT_THEIRS = ("spam", "abuse")


def key_digest(kind: str, value: str) -> str:
    """The stored form of a key: SHA-256 of its kind and normalised value."""
    return hashlib.sha256(f"{kind}:{value.strip().casefold()}".encode()).hexdigest()


def link_by_keys(session: Session, mentions: Iterable[Mention]) -> list[tuple[int, int]]:
    """Record the order numbers and e-mails in ``mentions`` (stored, with customers) and merge
    every customer who wrote one that another customer wrote before: the customer known first
    is kept. Returns (kept, merged) customer ids. Audited by ``merge_customers``."""
    uses: dict[tuple[str, str], list[tuple[Mention, str]]] = {}
    for m in mentions:
        if m.customer_id is None or (m.attributes or {}).get("intent") in _NOT_THEIRS:
            continue
        for kind, value in keys_in_text(m.text):
            uses.setdefault((kind, key_digest(kind, value)), []).append((m, value))
    if not uses:
        return []
    owner: dict[tuple[str, str], int] = {}
    digests = sorted({d for _, d in uses})
    for i in range(0, len(digests), 500):
        for kind, digest, customer_id in session.execute(
            select(CustomerKey.kind, CustomerKey.digest, CustomerKey.customer_id).where(
                CustomerKey.digest.in_(digests[i : i + 500])
            )
        ):
            owner[(kind, digest)] = customer_id
    merged: list[tuple[int, int]] = []
    moved: dict[int, int] = {}  # merged away -> kept (ingest's rows do not see the merge)
    fresh: dict[tuple[str, str], dict[str, Any]] = {}  # new keys, inserted together at the end
    for key, found in uses.items():
        for m, value in found:
            mine = m.customer_id
            while mine in moved:
                mine = moved[mine]
            theirs = owner.get(key)
            if mine is None:
                continue
            if theirs is None:
                fresh[key] = {"kind": key[0], "digest": key[1], "customer_id": mine}
                fresh[key].update(mention_id=m.id, created_at=utcnow())
                owner[key] = mine
            elif theirs != mine:
                keep_id, other_id = min(theirs, mine), max(theirs, mine)
                keep, other = session.get(Customer, keep_id), session.get(Customer, other_id)
                if keep is None or other is None:
                    continue
                merge_customers(session, keep, other, None, why=f"same {key[0]} {value}")
                owner = {k: keep_id if c == other_id else c for k, c in owner.items()}
                for row in fresh.values():
                    if row["customer_id"] == other_id:
                        row["customer_id"] = keep_id
                moved[other_id] = keep_id
                merged.append((keep_id, other_id))
    if fresh:
        session.execute(insert(cast(Table, CustomerKey.__table__)), list(fresh.values()))
    return merged


def link_certain(session: Session, chunk: int = 1000) -> list[tuple[int, int]]:
    """``link_by_keys`` over every stored mention, oldest first: what ingest does as mentions
    arrive, for mentions stored before it did (``hub customer link-certain``)."""
    merged: list[tuple[int, int]] = []
    after = 0
    while True:
        batch = list(
            session.scalars(
                select(Mention).where(Mention.id > after).order_by(Mention.id).limit(chunk)
            )
        )
        if not batch:
            return merged
        merged += link_by_keys(session, batch)
        after = batch[-1].id


def merge_customers(
    session: Session, keep: Customer, other: Customer, actor: Staff | None, why: str = ""
) -> Customer:
    """Move ``other``'s identities, mentions and notes to ``keep``, join their tags and flags,
    and remove ``other``. Audited on ``keep``."""
    if keep.id == other.id:
        raise UserError(_("A customer cannot be linked to themselves."))
    identities = [f"{i.platform}:{i.handle}" for i in other.identities]
    for ident in list(other.identities):
        ident.customer = keep
    moved = len(list(session.scalars(select(Mention.id).where(Mention.customer_id == other.id))))
    session.execute(
        update(Mention).where(Mention.customer_id == other.id).values(customer_id=keep.id)
    )
    session.execute(
        update(CustomerNote).where(CustomerNote.customer_id == other.id).values(customer_id=keep.id)
    )
    session.execute(
        update(CustomerKey).where(CustomerKey.customer_id == other.id).values(customer_id=keep.id)
    )
    keep.tags = list(dict.fromkeys([*keep.tags, *other.tags]))
    keep.vip = keep.vip or other.vip
    keep.blocked = keep.blocked or other.blocked
    keep.display_name = keep.display_name or other.display_name
    session.flush()
    record_event(
        session,
        "customer.merged",
        "customer",
        keep.id,
        actor.id if actor else None,
        merged=other.id,
        merged_name=other.display_name,
        identities=identities,
        mentions=moved,
        why=why[:500],
    )
    session.delete(other)
    session.flush()
    return keep


def unlink_identity(session: Session, identity: CustomerIdentity, actor: Staff | None) -> Customer:
    """Give ``identity`` a customer of its own, with its mentions (those on its platform by its
    handle, or all on its platform when it is the customer's only identity there)."""
    old = identity.customer
    if len(old.identities) < 2:
        raise UserError(_("This is the customer's only identity; there is nothing to unlink."))
    same_platform = [i for i in old.identities if i.platform == identity.platform]
    which = select(Mention.id).where(
        Mention.customer_id == old.id, Mention.platform == identity.platform
    )
    if len(same_platform) > 1:
        which = which.where(func.lower(Mention.author_handle) == identity.handle.lower())
    ids = list(session.scalars(which))
    name = session.scalar(
        select(Mention.author_name).where(Mention.id.in_(ids)).order_by(Mention.id.desc()).limit(1)
    )
    new = Customer(display_name=name or identity.handle, tags=[])
    session.add(new)
    identity.customer = new
    session.flush()
    if ids:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(customer_id=new.id))
    record_event(
        session,
        "customer.unlinked",
        "customer",
        old.id,
        actor.id if actor else None,
        identity=f"{identity.platform}:{identity.handle}",
        to_customer=new.id,
        mentions=len(ids),
    )
    session.expire(old)
    return new
