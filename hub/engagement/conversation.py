"""What the conversation page shows: the mention, its thread, the customer's history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import history
from hub.models import AuditEvent, Customer, Mention, OutboundItem


@dataclass(frozen=True)
class Conversation:
    mention: Mention
    #: the thread in time order: inbound mentions and our replies, as (kind, row)
    thread: list[tuple[str, Mention | OutboundItem]]
    earlier: list[Mention]  #: the same customer's other mentions, on any platform
    customer: Customer | None
    events: list[AuditEvent]


def load_conversation(session: Session, mention: Mention) -> Conversation:
    """Gather everything a person needs before answering one mention."""
    root = mention.thread_root_external_id or mention.external_id
    # two indexed lookups, not one OR (see ingest.thread_mention)
    found: dict[int, Mention] = {}
    for column in (Mention.thread_root_external_id, Mention.external_id):
        for row in session.scalars(
            select(Mention).where(Mention.platform == mention.platform, column == root)
        ):
            found[row.id] = row
    thread_mentions = [found[i] for i in sorted(found)]
    ids = [m.id for m in thread_mentions] or [mention.id]
    replies = list(session.scalars(select(OutboundItem).where(OutboundItem.mention_id.in_(ids))))
    thread: list[tuple[str, Mention | OutboundItem]] = [("in", m) for m in thread_mentions]
    thread += [("out", r) for r in replies]
    thread.sort(key=lambda kv: kv[1].created_at)
    earlier: list[Mention] = []
    if mention.customer_id is not None:
        earlier = list(
            session.scalars(
                select(Mention)
                .where(Mention.customer_id == mention.customer_id, Mention.id.not_in(ids))
                .order_by(Mention.created_at.desc())
                .limit(20)
            )
        )
    return Conversation(
        mention, thread, earlier, mention.customer, history(session, "mention", mention.id)
    )
