"""Ingest: turn a connector's Batch into mentions, nothing lost and nothing twice.

Everything for one batch happens in the caller's transaction: insert the new mentions (unique on
platform + external id, so a repeat is a no-op), link each author to a Customer, detect the
language, route, and advance the account's cursor last. A crash anywhere rolls all of it back;
the next poll fetches the same items again and the unique key absorbs them.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from connectors.base import Batch, IncomingMention, clean_payload, clean_text
from hub.audit import append_events
from hub.customers.linking import link_by_keys
from hub.db import reserve_ids
from hub.engagement.assignment import assign_new, rule_policies
from hub.engagement.attributes import History, triage, warm
from hub.engagement.routing import due_at, load_rules
from hub.models import Customer, CustomerIdentity, Mention, MentionStatus, PlatformAccount, utcnow
from hub.webhooks.events import emit_many

#: what we keep of an absurdly long text; the raw payload still holds all of it
MAX_TEXT = 20_000


def prepare_process() -> None:
    """Load what triage reads (``warm``), then take every object alive so far out of the
    garbage collector's sight (``gc.freeze``). A process that ingests makes and drops
    containers by the thousand, so full collections come often, and each read every object of
    the models loaded at start: measured over 5,000 mentions, one such collection took 100 ms
    of ingest's 2 s, and two collections of the same run after the freeze 15 ms each. Frozen
    objects are never freed: the warm-up's garbage is collected first, so only what the
    process keeps is frozen."""
    warm()
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class IngestResult:
    """How many mentions of a batch were new and how many were repeats."""

    inserted: int
    duplicates: int


@dataclass
class _Customer:
    """A stored customer, as much as ingest reads of them."""

    id: int
    tags: list[str]
    vip: bool
    blocked: bool


@dataclass
class _Identity:
    """A stored identity of a batch's author: its customer, and its handle and follower count
    as stored (``was``) and as the batch last saw them."""

    id: int
    customer_id: int
    customer: _Customer
    handle: str
    followers: int | None
    was: tuple[str, int | None]


def _identities(session: Session, batch: list[IncomingMention]) -> dict[tuple[str, str], Any]:
    """The known identities of a batch's authors with their customers, in one query per 500
    authors (plain rows, not ORM objects: ingest reads a few of their columns and writes back
    two, ``_update_identities``)."""
    keys = {(m.platform, m.author.platform_id or m.author.handle) for m in batch}
    found: dict[tuple[str, str], Any] = {}
    customers: dict[int, _Customer] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, uid in keys:
        by_platform.setdefault(platform, []).append(uid)
    ident = CustomerIdentity
    for platform, uids in by_platform.items():
        for i in range(0, len(uids), 500):
            for key, customer_id, on, uid, handle, followers, tags, vip, blocked in session.execute(
                select(
                    ident.id,
                    ident.customer_id,
                    ident.platform,
                    ident.platform_user_id,
                    ident.handle,
                    ident.followers,
                    Customer.tags,
                    Customer.vip,
                    Customer.blocked,
                )
                .join(Customer, Customer.id == ident.customer_id)
                .where(ident.platform == platform, ident.platform_user_id.in_(uids[i : i + 500]))
            ):
                if customer_id not in customers:
                    customers[customer_id] = _Customer(customer_id, tags, vip, blocked)
                found[(on, uid)] = _Identity(
                    key, customer_id, customers[customer_id], handle, followers, (handle, followers)
                )
    return found


def _update_identities(session: Session, known: dict[tuple[str, str], Any]) -> None:
    """Store the handles and follower counts that changed, each only where it changed (a count
    another poller wrote meanwhile is not put back to the one read before it)."""
    changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for ident in known.values():
        if not isinstance(ident, _Identity):
            continue
        values = {
            column: now
            for column, now, was in zip(
                ("handle", "followers"), (ident.handle, ident.followers), ident.was, strict=True
            )
            if now != was
        }
        if values:
            changed.setdefault(tuple(values), []).append({"key": ident.id, **values})
    table = cast(Table, CustomerIdentity.__table__)
    for rows in changed.values():
        # SET names the columns each row's parameters hold
        session.execute(update(table).where(table.c.id == bindparam("key")), rows)


class _Row(SimpleNamespace):
    """A new row (customer, identity, mention) as plain attributes: ingest knows every value,
    so it inserts them in one statement per table instead of tracking ORM objects (a fifth of
    ingest's time went to building and flushing them)."""


def _customer_for(m: IncomingMention, known: dict[tuple[str, str], Any], fresh: list[_Row]) -> Any:
    """The author's customer: the stored one (handle and followers brought up to date), or a
    new customer and identity (rows in ``fresh``)."""
    key = (m.platform, m.author.platform_id or m.author.handle)
    handle = clean_text(m.author.handle)[:200]
    ident = known.get(key)
    if ident is None:
        customer = _Row(
            id=None,
            display_name=clean_text(m.author.display_name or handle)[:200],
            tags=[],
            vip=False,
            blocked=False,
            created_at=utcnow(),
        )
        ident = _Row(
            id=None,
            customer=customer,
            platform=key[0],
            platform_user_id=key[1],
            handle=handle,
            followers=m.author.followers,
        )
        fresh += [customer, ident]
        known[key] = ident
    else:
        ident.handle = handle  # handles change; the platform id does not
        if m.author.followers is not None:
            ident.followers = m.author.followers
    return ident.customer


def _insert_rows(session: Session, model: type[Any], rows: list[_Row]) -> None:
    """``rows`` (every column set, a None is NULL) into ``model``'s table in one statement.

    A Core INSERT of the table, not of the mapped class: the ORM's bulk insert re-examined
    every row (which columns are set, which defaults apply) for the same statement. On SQLite
    with RETURNING, which SQLAlchemy sends as multi-row INSERTs ("insertmanyvalues"): row by
    row, the full-text index's trigger cost ten times what the same index insert costs as a
    statement of its own, and the mentions' insert took twice as long (measured; a trigger
    runs in a statement savepoint, at which the FTS modules write out their pending index).
    PostgreSQL keeps psycopg's executemany: RETURNING made its ingest slower."""
    if not rows:
        return  # an empty parameter list would insert one row of defaults
    table = model.__table__
    columns = [c.key for c in table.columns]
    values = [{c: getattr(r, c) for c in columns} for r in rows]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(insert(table).returning(table.c.id), values).all()
    else:
        session.execute(insert(table), values)


def _insert_new_rows(session: Session, people: list[_Row]) -> None:
    """Key the batch's new customers and identities (``reserve_ids``) and insert them,
    customers first."""
    customers = [r for r in people if not hasattr(r, "customer")]
    idents = [r for r in people if hasattr(r, "customer")]
    for model, rows in ((Customer, customers), (CustomerIdentity, idents)):
        for row, key in zip(rows, reserve_ids(session, model, len(rows)), strict=True):
            row.id = key
    for ident in idents:
        ident.customer_id = ident.customer.id
    _insert_rows(session, Customer, customers)
    _insert_rows(session, CustomerIdentity, idents)


#: a customer's newest mentions that triage reads (their count is always exact): a customer
#: with thousands of mentions costs ingest no more than one with this many
HISTORY_WINDOW = 200


_NEWEST = (
    select(
        Mention.id,
        Mention.customer_id,
        Mention.status,
        Mention.first_response_at.is_not(None).label("answered"),
        Mention.attributes,
        func.row_number()
        .over(partition_by=Mention.customer_id, order_by=Mention.id.desc())
        .label("nth"),
        func.count().over(partition_by=Mention.customer_id).label("total"),
    )
    .where(Mention.customer_id.in_(bindparam("customers", expanding=True)))
    .subquery()
)
#: each customer's newest mentions, oldest first, with how many the customer has in all
_HISTORY = (
    select(
        _NEWEST.c.customer_id,
        _NEWEST.c.status,
        _NEWEST.c.answered,
        _NEWEST.c.attributes,
        _NEWEST.c.total,
    )
    .where(_NEWEST.c.nth <= bindparam("window"))
    .order_by(_NEWEST.c.id)
)


def _histories(session: Session, known: dict[tuple[str, str], Any]) -> dict[int, History]:
    """The record of every known customer in a batch, from their stored mentions: how many
    there are, and what the newest ``HISTORY_WINDOW`` of them say (one query per 500
    customers)."""
    customers = {ident.customer_id: ident.customer for ident in known.values()}
    out = {cid: History(tags=list(c.tags or ()), vip=bool(c.vip)) for cid, c in customers.items()}
    ids = list(out)
    for i in range(0, len(ids), 500):
        totals: dict[int, int] = {}
        for cid, status, answered, attrs, total in session.execute(
            _HISTORY, {"customers": ids[i : i + 500], "window": HISTORY_WINDOW}
        ):
            out[cid].add(
                attrs or {},
                answered=bool(answered),
                closed=status == MentionStatus.CLOSED.value,
            )
            totals[cid] = total
        for cid, total in totals.items():
            out[cid].earlier = total
    return out


def thread_mention(
    session: Session, platform: str, refs: list[str], open_only: bool = False
) -> Mention | None:
    """The newest mention of ``platform`` that is one of ``refs`` or in a thread rooted at one.

    Two lookups, each on its own index ((platform, external_id) and thread_root_external_id),
    instead of one ``OR``: with the ``OR`` the planners read every
    mention of the platform unless their statistics happened to be current (0.8-1.1 s per
    reply at a million mentions)."""
    newest = []
    for column in (Mention.external_id, Mention.thread_root_external_id):
        # max(), not ORDER BY id DESC LIMIT 1: that one tempts SQLite to walk the whole table
        # backwards by id instead of using the index
        q = select(func.max(Mention.id)).where(Mention.platform == platform, column.in_(refs))
        if open_only:
            q = q.where(Mention.status != MentionStatus.CLOSED.value)
        found = session.scalar(q)
        if found is not None:
            newest.append(found)
    return session.get(Mention, max(newest)) if newest else None


@dataclass(frozen=True)
class _Owner:
    """The mention a follow-up sticks to: its id (None if earlier in this batch), team and
    assignee."""

    id: int | None
    team_id: int | None
    assignee_id: int | None


def _open_thread_owners(
    session: Session, platform: str, batch: list[IncomingMention]
) -> dict[str, _Owner]:
    """For every reply reference in a batch, the newest open stored mention that is it or is in
    a thread rooted at it: two indexed queries per batch (the same two lookups as
    ``thread_mention``, for all the batch's references at once) instead of two per reply, and
    one more for the three columns a follow-up takes from it."""
    refs = sorted(
        {r for m in batch for r in (m.in_reply_to_external_id, m.thread_root_external_id) if r}
    )
    newest: dict[str, int] = {}
    open_ = Mention.status != MentionStatus.CLOSED.value
    for i in range(0, len(refs), 500):
        chunk = refs[i : i + 500]
        found: list[tuple[str | None, int]] = [
            (ref, top)
            for ref, top in session.execute(
                select(Mention.external_id, func.max(Mention.id))
                .where(Mention.platform == platform, Mention.external_id.in_(chunk), open_)
                .group_by(Mention.external_id)
            )
        ]
        # The platform is compared here, not in SQL: with "platform = ?" beside a dozen
        # references, SQLite without statistics (a new hub, before its first ANALYZE) reads
        # every mention of the platform by the unique key instead of searching the thread index
        found += [
            (ref, top)
            for ref, on, top in session.execute(
                select(Mention.thread_root_external_id, Mention.platform, func.max(Mention.id))
                .where(Mention.thread_root_external_id.in_(chunk), open_)
                .group_by(Mention.thread_root_external_id, Mention.platform)
            )
            if on == platform
        ]
        for ref, top in found:
            if ref is not None and top > newest.get(ref, 0):
                newest[ref] = top
    ids = sorted(set(newest.values()))
    loaded: dict[int, _Owner] = {}
    for i in range(0, len(ids), 500):
        for key, team_id, assignee_id in session.execute(
            select(Mention.id, Mention.team_id, Mention.assignee_id).where(
                Mention.id.in_(ids[i : i + 500])
            )
        ):
            loaded[key] = _Owner(key, team_id, assignee_id)
    return {ref: loaded[key] for ref, key in newest.items()}


def _thread_owner(
    m: IncomingMention, pending: dict[str, _Row], stored: dict[str, _Owner]
) -> _Owner | None:
    """The open mention this one follows up on (same thread), for sticky ownership."""
    refs = [r for r in (m.in_reply_to_external_id, m.thread_root_external_id) if r]
    if not refs:
        return None
    for ref in refs:  # earlier in this very batch
        row = pending.get(ref)
        if row is not None and row.status != MentionStatus.CLOSED:
            return _Owner(None, row.team_id, row.assignee_id)
    found = [stored[r] for r in refs if r in stored]
    return max(found, key=lambda o: o.id or 0) if found else None


def ingest_batch(
    session: Session,
    account: PlatformAccount,
    batch: Batch,
    now: datetime | None = None,
    default_sla: int = 120,
) -> IngestResult:
    """Store a batch's new mentions, route them and advance the cursor (caller commits)."""
    now = now or utcnow()
    unique: dict[str, IncomingMention] = {}
    for m in batch.mentions:
        unique.setdefault(m.external_id, m)
    existing: set[str] = set()
    ids = list(unique)
    for i in range(0, len(ids), 500):
        existing.update(
            session.scalars(
                select(Mention.external_id).where(
                    Mention.platform == account.platform, Mention.external_id.in_(ids[i : i + 500])
                )
            )
        )
    fresh = [m for ext, m in unique.items() if ext not in existing]
    rules = load_rules(session)
    new: dict[str, _Row] = {}
    people: list[_Row] = []
    whys: list[str] = []
    with session.no_autoflush:
        known = _identities(session, fresh)
        histories = _histories(session, known)
        owners = _open_thread_owners(session, account.platform, fresh)
        for m in fresh:
            new[m.external_id] = _build(
                account, m, rules, known, people, histories, new, owners, now, default_sla, whys
            )
        mentions = list(new.values())
        # keys first: assignment and its events name the mentions
        for row, key in zip(mentions, reserve_ids(session, Mention, len(mentions)), strict=True):
            row.id = key
        assign_new(session, mentions, rule_policies(rules, mentions))  # type: ignore[arg-type]
        _insert_new_rows(session, people)
        for mention in mentions:
            mention.customer_id = mention.customer.id
        _insert_rows(session, Mention, mentions)
        _update_identities(session, known)
    session.flush()
    append_events(
        session,
        [
            (
                "mention.received",
                "mention",
                mention.id,
                None,
                {
                    "team_id": mention.team_id,
                    "priority": mention.priority,
                    "why": why,
                    "problems": mention.problems,
                },
            )
            for mention, why in zip(mentions, whys, strict=True)
        ],
    )
    # after the events: a merge is audited on the customer, the mention keeps its own record
    link_by_keys(session, mentions)  # type: ignore[arg-type]
    # a generator: with no webhook subscribed, not one payload is built
    emit_many(
        session, "mention.created", (_event(m, why) for m, why in zip(mentions, whys, strict=True))
    )
    _advance_cursor(account, batch, now)
    session.flush()
    return IngestResult(inserted=len(new), duplicates=len(batch.mentions) - len(new))


def _build(
    account: PlatformAccount,
    m: IncomingMention,
    rules: list[Any],
    known: dict[tuple[str, str], Any],
    people: list[_Row],
    histories: dict[int, History],
    pending: dict[str, _Row],
    owners: dict[str, _Owner],
    now: datetime,
    default_sla: int,
    whys: list[str],
) -> _Row:
    problems = list(m.problems)
    text = clean_text(m.text)
    if text != m.text:
        problems.append("text had invalid characters, replaced with U+FFFD")
    if len(text) > MAX_TEXT:
        problems.append(f"text of {len(text)} characters cut to {MAX_TEXT}")
        text = text[:MAX_TEXT]
    customer = _customer_for(m, known, people)
    # a new customer has no id yet: their history starts empty, keyed by the object
    history = histories.setdefault(customer.id or -id(customer), History())
    attrs, r = triage(
        rules,
        text,
        platform=m.platform,
        account_id=account.id,
        followers=m.author.followers,
        history=history,
        default_sla=default_sla,
    )
    history.add(attrs)
    owner = _thread_owner(m, pending, owners)
    whys.append(
        f"follows up mention #{owner.id or 'earlier in this batch'}" if owner else r.rule_name
    )
    return _Row(
        id=None,
        customer=customer,
        customer_id=None,
        platform=m.platform,
        external_id=m.external_id,
        account_id=account.id,
        author_handle=clean_text(m.author.handle)[:200],
        author_name=clean_text(m.author.display_name or "")[:200],
        text=text,
        kind=m.kind,
        url=m.url,
        created_at=m.created_at,
        received_at=now,
        in_reply_to_external_id=m.in_reply_to_external_id,
        thread_root_external_id=m.thread_root_external_id or m.external_id,
        reply_ref=dict(m.reply_ref),
        language=attrs["language"],
        team_id=owner.team_id if owner else r.team_id,
        assignee_id=owner.assignee_id if owner else None,
        status=(MentionStatus.OPEN if owner and owner.assignee_id else MentionStatus.NEW).value,
        priority=r.priority,
        routing_rule_id=r.rule_id,
        attributes=attrs,
        tags=list(r.tags),
        routing_why=r.why(),
        first_response_due_at=due_at(now, r),
        problems=problems,
        raw=clean_payload(m.raw),
        first_response_at=None,
        sla_breached_at=None,
    )


def _event(m: Any, why: str) -> dict[str, Any]:
    """A new mention as the ``mention.created`` webhook reports it, with its routing."""
    return {
        "mention_id": m.id,
        "platform": m.platform,
        "account_id": m.account_id,
        "external_id": m.external_id,
        "url": m.url,
        "author_handle": m.author_handle,
        "customer_id": m.customer_id,
        "text": m.text,
        "language": m.language,
        "created_at": m.created_at.isoformat(),
        "status": m.status,
        "team_id": m.team_id,
        "assignee_id": m.assignee_id,
        "priority": m.priority,
        "tags": list(m.tags),
        "routing_rule_id": m.routing_rule_id,
        "routing_why": why,
        "first_response_due_at": (
            m.first_response_due_at.isoformat() if m.first_response_due_at else None
        ),
    }


def _advance_cursor(account: PlatformAccount, batch: Batch, now: datetime) -> None:
    """Move the cursor last, so it only moves if every mention before it is stored."""
    if batch.cursor is not None:
        account.cursor = batch.cursor
    account.last_success_at = now
    if batch.rate_limit is not None:
        account.budget_remaining = batch.rate_limit.remaining
        account.budget_reset_at = batch.rate_limit.reset_at
