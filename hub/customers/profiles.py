"""A customer's profile: find them, tag them, write notes, VIP and the blocklist.

Every change is an audit event on the customer. Blocked customers' mentions are kept (nothing is
lost) but are not work: :func:`is_blocked` is what the queue and assignment ask.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from hub.audit import record_event
from hub.engagement.queue import like_pattern
from hub.errors import NotFound, UserError
from hub.i18n import _
from hub.models import Customer, CustomerIdentity, CustomerNote, Mention, Staff

MAX_TAG = 40
MAX_TAGS = 30
MAX_NOTE = 2000
PAGE = 50


def get_customer(session: Session, customer_id: int | None) -> Customer:
    """The customer, or NotFound."""
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        raise NotFound(_("That customer does not exist."))
    return customer


def find_customers(session: Session, query: str = "", limit: int = PAGE) -> list[Customer]:
    """Customers whose name or any handle contains ``query`` (all, newest first, when empty)."""
    q = (
        select(Customer)
        .options(selectinload(Customer.identities))
        .order_by(Customer.id.desc())
        .limit(limit)
    )
    # control characters dropped (PostgreSQL refuses NUL in text); %, _ and \\ taken literally
    query = "".join(ch for ch in query if ch.isprintable()).strip().lstrip("@")[:200]
    if query:
        pattern = like_pattern(query)
        handles = select(CustomerIdentity.customer_id).where(
            CustomerIdentity.handle.ilike(pattern, escape="\\")
        )
        q = q.where(
            or_(Customer.display_name.ilike(pattern, escape="\\"), Customer.id.in_(handles))
        )
    return list(session.scalars(q))


def customer_by_handle(session: Session, handle: str) -> Customer | None:
    """The customer with an identity of this handle (any platform, any case)."""
    ident = session.scalar(
        select(CustomerIdentity)
        .where(CustomerIdentity.handle.ilike(handle.strip().lstrip("@")))
        .order_by(CustomerIdentity.id)
        .limit(1)
    )
    return ident.customer if ident else None


def mention_history(session: Session, customer_id: int, limit: int = 200) -> list[Mention]:
    """The customer's mentions on every platform, newest first."""
    return list(
        session.scalars(
            select(Mention)
            .where(Mention.customer_id == customer_id)
            .order_by(Mention.created_at.desc(), Mention.id.desc())
            .limit(limit)
        )
    )


def notes_of(session: Session, customer_id: int) -> list[CustomerNote]:
    """The customer's notes, newest first."""
    return list(
        session.scalars(
            select(CustomerNote)
            .options(selectinload(CustomerNote.author))
            .where(CustomerNote.customer_id == customer_id)
            .order_by(CustomerNote.id.desc())
        )
    )


def add_tag(session: Session, customer: Customer, tag: str, actor: Staff) -> None:
    """Add a tag (trimmed; 1-40 characters; at most 30 per customer)."""
    tag = " ".join(tag.split())
    if not tag or len(tag) > MAX_TAG:
        raise UserError(_("A tag has 1 to %(max)s characters.", max=MAX_TAG))
    if tag in customer.tags:
        return
    if len(customer.tags) >= MAX_TAGS:
        raise UserError(_("A customer has at most %(max)s tags.", max=MAX_TAGS))
    customer.tags = [*customer.tags, tag]
    record_event(session, "customer.tagged", "customer", customer.id, actor.id, tag=tag)


def remove_tag(session: Session, customer: Customer, tag: str, actor: Staff) -> None:
    """Remove a tag the customer has."""
    if tag not in customer.tags:
        raise UserError(_("The customer has no such tag."))
    customer.tags = [t for t in customer.tags if t != tag]
    record_event(session, "customer.untagged", "customer", customer.id, actor.id, tag=tag)


def add_note(session: Session, customer: Customer, text: str, actor: Staff) -> CustomerNote:
    """Write a note on the customer (1-2000 characters), signed and dated."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise UserError(_("A note has 1 to %(max)s characters.", max=MAX_NOTE))
    note = CustomerNote(customer_id=customer.id, author_id=actor.id, text=text)
    session.add(note)
    session.flush()
    record_event(session, "customer.noted", "customer", customer.id, actor.id, note=note.id)
    return note


def set_vip(session: Session, customer: Customer, vip: bool, actor: Staff) -> None:
    """Mark or unmark the customer as VIP (routing rules can match it)."""
    if customer.vip == vip:
        return
    customer.vip = vip
    record_event(session, "customer.vip", "customer", customer.id, actor.id, vip=vip)


def set_blocked(session: Session, customer: Customer, blocked: bool, actor: Staff) -> None:
    """Put the customer on the blocklist or take them off it."""
    if customer.blocked == blocked:
        return
    customer.blocked = blocked
    record_event(session, "customer.blocked", "customer", customer.id, actor.id, blocked=blocked)


def is_blocked(session: Session, customer_id: int | None) -> bool:
    """Whether the customer is on the blocklist (their mentions are not queued or assigned)."""
    if customer_id is None:
        return False
    return bool(session.scalar(select(Customer.blocked).where(Customer.id == customer_id)))


def blocked_mentions(session: Session, limit: int = 200) -> list[Mention]:
    """Mentions from blocked customers, newest first."""
    return list(
        session.scalars(
            select(Mention)
            .join(Customer, Customer.id == Mention.customer_id)
            .where(Customer.blocked.is_(True))
            .order_by(Mention.created_at.desc(), Mention.id.desc())
            .limit(limit)
        )
    )
