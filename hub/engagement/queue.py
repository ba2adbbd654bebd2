"""The queue: mentions filtered and paged by keyset, so page 200 is as fast as page 1.

Every filter only adds a WHERE clause; the order (priority, first-response deadline, id) and the
keyset token do not change, so paging stays a keyset walk whatever the filters.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.sql.elements import Label

from hub.ids import parse_id
from hub.models import (
    MENTION_STATUSES,
    PRIORITIES,
    AuditEvent,
    Customer,
    Mention,
    MentionPresence,
    MentionStatus,
    Staff,
    StaffTeam,
    utcnow,
)

#: what "active" means in the status filter: everything somebody still has to act on
ACTIVE = ("new", "open", "escalated")
#: The same list written into the SQL as literals: the index of active mentions
#: (``ix_mentions_active``) is a partial one, and SQLite uses a partial index only when the
#: query's own WHERE names the index's condition as written (a bound parameter never matches).
ACTIVE_SQL = Mention.status.in_([literal_column(f"'{s}'") for s in ACTIVE])
#: Above this many, a status's count in the header reads "1,000+": counting the closed
#: mentions of a hub holding millions would read them all on every refresh, for a figure
#: nobody acts on; the statuses somebody must act on are always counted exactly.
COUNT_CAP = 1_000


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
    language: str = ""  # a language code, "none" (not detected) or "" any
    priority: str = ""
    #: only mentions whose first-response deadline has passed with no response (closed ones
    #: are never overdue, as the queue's due column says)
    overdue: bool = False
    #: free text, matched case-insensitively as a substring of the text or the author's handle
    q: str = ""
    tag: str = ""

    def args(self) -> dict[str, str]:
        """The filter as URL query arguments (empty ones left out), for links that keep it."""
        args = {
            "status": self.status,
            "scope": self.scope,
            "team": str(self.team_id or ""),
            "platform": self.platform,
            "assignee": self.assignee,
            "language": self.language,
            "priority": self.priority,
            "overdue": "1" if self.overdue else "",
            "q": self.q,
            "tag": self.tag,
        }
        return {k: v for k, v in args.items() if v}


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


#: longest free-text search and tag filter read (a longer one is refused, not cut)
MAX_QUERY = 200
MAX_TAG = 40


@dataclass(frozen=True)
class QueuePage:
    """One page of rows, the token of the next page, and the header's counts.

    ``counts`` are per status under every filter but the status one (so the header can show
    how many are new, open, closed... among what the other filters select, and switching the
    status filter moves between them); ``total`` is the number of rows the whole filter,
    status included, selects over every page. Both come from the same WHERE clauses as
    the rows, in the same transaction.
    """

    mentions: list[Mention]
    next_token: str | None
    counts: dict[str, int]
    total: int = 0
    #: the statuses whose count stopped at ``COUNT_CAP`` (there are more)
    capped: frozenset[str] = frozenset()


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


def like_pattern(text: str) -> str:
    """``text`` as a LIKE substring pattern, its own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """The mention's ``tags`` (a JSON list) hold ``tag``, case-insensitively.

    The list is opened with the database's own JSON table function (SQLite ``json_each``,
    PostgreSQL ``json_array_elements_text``); the column is plain JSON on both, so there is no
    portable containment operator to use instead.
    """
    if session.get_bind().dialect.name == "postgresql":
        # json_array_elements_text raises on a non-array; a stray scalar counts as no tags
        tags = case((func.json_typeof(Mention.tags) == "array", Mention.tags), else_=None)
        elements = func.json_array_elements_text(tags).table_valued("value")
    else:
        elements = func.json_each(Mention.tags).table_valued("value")
    return exists(
        select(literal(1))
        .select_from(elements)
        .where(func.lower(elements.c.value) == func.lower(literal(tag)))
    )


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """First response due before ``now``, none given, and the mention not closed."""
    return and_(
        Mention.first_response_due_at < now,
        Mention.first_response_at.is_(None),
        Mention.status != MentionStatus.CLOSED.value,
    )


def _status_clause(status: str) -> ColumnElement[bool] | None:
    if status == "active":
        return ACTIVE_SQL
    if status in MENTION_STATUSES:
        return Mention.status == status
    return None  # "all", or a status that names nothing


#: the customers whose mentions the queue never shows (they have /customers/blocked): their
#: few ids read once (ix_customers_blocked), not looked up per row, so a count over the active
#: index never leaves the index
_BLOCKED_IDS = select(Customer.id).where(Customer.blocked)
_NOT_BLOCKED = or_(Mention.customer_id.is_(None), Mention.customer_id.not_in(_BLOCKED_IDS))


def _filtered(
    session: Session, f: QueueFilter, me: Staff, now: datetime, with_status: bool = True
) -> Select[Mention]:
    """The mentions ``f`` selects for ``me``, blocked customers' left out."""
    return _selected(session, f, me, now, with_status).where(_NOT_BLOCKED)


def _selected(
    session: Session, f: QueueFilter, me: Staff, now: datetime, with_status: bool = True
) -> Select[Mention]:
    """The mentions ``f`` selects for ``me``, whoever the customer is."""
    q = select(Mention)
    if f.scope == "teams":
        q = q.where(
            or_(Mention.team_id.in_(my_team_ids(session, me)), Mention.assignee_id == me.id)
        )
    if with_status and (status := _status_clause(f.status)) is not None:
        q = q.where(status)
    if f.language == "none":
        q = q.where(Mention.language.is_(None))
    elif f.language:
        q = q.where(Mention.language == f.language)
    if f.priority in PRIORITIES:
        q = q.where(Mention.priority == f.priority)
    if f.overdue:
        q = q.where(overdue_clause(now))
    if f.q:
        # ILIKE on PostgreSQL; lower() LIKE lower() on SQLite, whose lower() folds ASCII only
        q = q.where(
            or_(
                Mention.text.ilike(like_pattern(f.q), escape="\\"),
                Mention.author_handle.ilike(like_pattern(f.q.lstrip("@")), escape="\\"),
            )
        )
    if f.tag:
        q = q.where(_has_tag(session, f.tag))
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


def list_queue(
    session: Session,
    f: QueueFilter,
    me: Staff,
    page_size: int = 25,
    now: datetime | None = None,
) -> QueuePage:
    """One page of the queue, most urgent first (priority, then first-response deadline)."""
    now = now or utcnow()
    q = _filtered(session, f, me, now)
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
            q.options(
                joinedload(Mention.team),
                joinedload(Mention.assignee),
                # the rows show none of these; a platform's raw payload runs to kilobytes
                defer(Mention.raw),
                defer(Mention.attributes),
                defer(Mention.routing_why),
                defer(Mention.reply_ref),
            )
            .order_by(Mention.priority, Mention.first_response_due_at, Mention.id)
            .limit(page_size + 1)
        )
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    counts, capped = status_counts(session, f, me, now)
    if f.status == "active":
        selected: tuple[str, ...] = ACTIVE
    elif f.status in MENTION_STATUSES:
        selected = (f.status,)
    else:
        selected = MENTION_STATUSES
    total = sum(counts.get(s, 0) for s in selected)
    if capped & set(selected):
        capped.add("total")
    return QueuePage(
        rows, _token(rows[-1]) if more and rows else None, counts, total, frozenset(capped)
    )


def _kind(name: str) -> Label[str]:
    """The column that says which count a row of ``status_counts``' union is."""
    return literal_column(f"'{name}'", String).label("kind")


def status_counts(
    session: Session, f: QueueFilter, me: Staff, now: datetime
) -> tuple[dict[str, int], set[str]]:
    """Per status, how many mentions every filter but the status one selects, in one statement.

    The active statuses are counted exactly (over the active index, which holds every column
    the common filters read). Each other status stops at ``COUNT_CAP`` + 1 rows, counted
    whoever the customer is, and the blocked customers' mentions of that status (found by
    customer) are taken off; a status that reached the cap is returned as capped. Counting
    them apart is what keeps the capped counts in the indexes: an employee's scope (their
    teams' mentions or their own) is two index ranges whose rows would each be read from the
    table for their customer (at a million mentions, 26 of the 30 ms of such a count).
    """
    anyone = _selected(session, f, me, now, with_status=False)
    base = anyone.where(_NOT_BLOCKED)
    parts = [
        base.where(ACTIVE_SQL)
        .with_only_columns(_kind("all"), Mention.status.label("status"), func.count())
        .group_by(Mention.status)
    ]
    for status in MENTION_STATUSES:
        if status in ACTIVE:
            continue
        # status is a member of a closed enum: a literal, so the planner sees the index prefix
        first = (
            anyone.where(Mention.status == literal_column(f"'{status}'"))
            .with_only_columns(literal(1).label("one"))
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        parts.append(
            select(
                _kind("capped"),
                literal(str(status)).label("status"),
                func.count(),
            ).select_from(first)
        )
    parts.append(
        anyone.where(Mention.customer_id.in_(_BLOCKED_IDS), not_(ACTIVE_SQL))
        .with_only_columns(_kind("blocked"), Mention.status.label("status"), func.count())
        .group_by(Mention.status)
    )
    found: dict[str, dict[str, int]] = {"all": {}, "capped": {}, "blocked": {}}
    for which, name, n in session.execute(union_all(*parts)):
        found[which][str(name)] = int(n)
    counts: dict[str, int] = {name: n for name, n in found["all"].items() if n}
    capped: set[str] = set()
    for name, n in found["capped"].items():
        if n > COUNT_CAP:
            # over the cap with blocked customers' mentions among them: still "1,000+"
            capped.add(name)
            n = COUNT_CAP
        else:
            n -= found["blocked"].get(name, 0)
        if n:
            counts[name] = n
    return counts, capped


def count_newer(
    session: Session, f: QueueFilter, me: Staff, after_id: int, now: datetime | None = None
) -> int:
    """How many mentions the filter selects with an id above ``after_id`` (arrived since)."""
    q = _filtered(session, f, me, now or utcnow()).where(Mention.id > after_id)
    return int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)


def change_key(session: Session, now: datetime | None = None) -> str:
    """A token that changes whenever anything the queue shows may have changed.

    Three index lookups in one statement, no filter: the newest mention (ingest), the newest
    audit event (every claim, assignment, move, tag and reply is audited in the transaction that
    makes it), the newest start of someone writing (the "writing…" marker); and the minute (the
    due column's "12 min left", and writers who stopped). It is read before the rows, so a
    change committed while a page renders shows up as a new key at the next poll: never missed,
    at worst refreshed twice.
    """
    now = now or utcnow()
    # one round trip: three scalar subqueries in one SELECT
    mention, event, writer = session.execute(
        select(
            select(func.max(Mention.id)).scalar_subquery(),
            select(func.max(AuditEvent.id)).scalar_subquery(),
            select(func.max(MentionPresence.since)).scalar_subquery(),
        )
    ).one()
    writer_stamp = int(writer.timestamp()) if writer is not None else 0
    return f"{mention or 0}.{event or 0}.{writer_stamp}.{int(now.timestamp()) // 60}"


def newest_mention_id(key: str) -> int:
    """The newest mention id a :func:`change_key` was read at (0 for anything else)."""
    return parse_id(key.split(".", 1)[0], big=True) or 0
