"""The queue: mentions filtered and paged by keyset, so page 200 is as fast as page 1."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from hub.ids import parse_id
from hub.models import MENTION_STATUSES, PRIORITIES, Customer, Mention, Staff, StaffTeam

#: what "active" means in the status filter: everything somebody still has to act on
ACTIVE = ("new", "open", "escalated")


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters as the page sends them; empty means any."""

    status: str = "active"
    team_id: int | None = None
    platform: str = ""
    assignee: str = ""  # "" any, "me", "none", or a staff id
    after: str = ""  # keyset token of the last row of the previous page
    #: "teams": the reader's own teams' mentions (and their own); "all": every team's
    scope: str = "all"


SCOPES = ("teams", "all")


def default_scope(me: Staff) -> str:
    """Managers see every team's mentions first; everyone else their own teams'."""
    return "all" if me.has_role("manager") else "teams"


def my_team_ids(session: Session, me: Staff) -> set[int]:
    """The reader's home team and extra teams."""
    ids = set(session.scalars(select(StaffTeam.team_id).where(StaffTeam.staff_id == me.id)))
    if me.team_id is not None:
        ids.add(me.team_id)
    return ids


@dataclass(frozen=True)
class QueuePage:
    mentions: list[Mention]
    next_token: str | None
    counts: dict[str, int]


def _token(m: Mention) -> str:
    due = m.first_response_due_at.isoformat() if m.first_response_due_at else ""
    raw = f"{m.priority}|{due}|{m.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _parse_token(token: str) -> tuple[str, datetime, int] | None:
    """The keyset position in a page token, or None (first page) for anything we did not write.

    The token comes back from the browser, so every part is checked before it reaches SQL: a
    known priority, an aware ISO datetime the database can store, an id in the key's range.
    """
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        prio, due_raw, ident_raw = raw.decode("ascii").split("|")
        due = datetime.fromisoformat(due_raw)
        if due.tzinfo is None:
            return None
        due = due.astimezone(UTC)  # far-off offsets overflow here, not in the driver
    except (ValueError, OverflowError, binascii.Error, UnicodeError):
        return None
    ident = parse_id(ident_raw, big=True)
    if prio not in PRIORITIES or ident is None:
        return None
    return prio, due, ident


def _filtered(session: Session, f: QueueFilter, me: Staff) -> Select[Mention]:
    # blocked customers' mentions have their own page (/customers/blocked), never the queue
    blocked = select(Customer.id).where(Customer.id == Mention.customer_id, Customer.blocked)
    q = select(Mention).where(~blocked.exists())
    if f.scope == "teams":
        q = q.where(
            or_(Mention.team_id.in_(my_team_ids(session, me)), Mention.assignee_id == me.id)
        )
    if f.status == "active":
        q = q.where(Mention.status.in_(ACTIVE))
    elif f.status in MENTION_STATUSES:
        q = q.where(Mention.status == f.status)
    if f.team_id:
        q = q.where(Mention.team_id == f.team_id)
    if f.platform:
        q = q.where(Mention.platform == f.platform)
    if f.assignee == "me":
        q = q.where(Mention.assignee_id == me.id)
    elif f.assignee == "none":
        q = q.where(Mention.assignee_id.is_(None))
    elif (assignee_id := parse_id(f.assignee)) is not None:
        q = q.where(Mention.assignee_id == assignee_id)
    return q


def list_queue(session: Session, f: QueueFilter, me: Staff, page_size: int = 25) -> QueuePage:
    """One page of the queue, most urgent first (priority, then first-response deadline)."""
    q = _filtered(session, f, me)
    key = _parse_token(f.after) if f.after else None
    if key is not None:
        prio, due, ident = key
        q = q.where(
            tuple_(Mention.priority, Mention.first_response_due_at, Mention.id)
            > tuple_(
                literal(prio), literal(due, Mention.first_response_due_at.type), literal(ident)
            )
        )
    rows = list(
        session.scalars(
            q.options(joinedload(Mention.team), joinedload(Mention.assignee))
            .order_by(Mention.priority, Mention.first_response_due_at, Mention.id)
            .limit(page_size + 1)
        )
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    counts = dict(
        session.execute(select(Mention.status, func.count()).group_by(Mention.status)).all()
    )  # type: ignore[arg-type]
    return QueuePage(rows, _token(rows[-1]) if more and rows else None, counts)
