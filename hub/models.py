"""The hub's tables (SQLAlchemy 2, typed ``Mapped[]`` columns). All times are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from hub.i18n import lazy_gettext


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


ROLES = ("employee", "manager", "compliance", "admin")
#: each role's name as the UI shows it, in the reader's language
ROLE_LABELS = {
    "employee": lazy_gettext("Employee"),
    "manager": lazy_gettext("Community manager"),
    "compliance": lazy_gettext("Compliance officer"),
    "admin": lazy_gettext("Admin"),
}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    #: the team lead: sees the team's performance and is told of its deadline breaches
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, name="fk_teams_lead_id_staff")
    )
    #: who gets a new mention: "manual", "round_robin" or "least_loaded" (hub.engagement.assignment)
    assignment_policy: Mapped[str] = mapped_column(
        String(20), default="manual", server_default="manual"
    )
    #: what the deadline job does when a first response is late: "notify" (the lead), "raise"
    #: (priority up one step, and notify) or "reassign" (to the next free person, and notify)
    breach_action: Mapped[str] = mapped_column(
        String(20), default="notify", server_default="notify"
    )
    #: the last person round-robin gave a mention to, so the next one goes to whoever follows
    rr_last_staff_id: Mapped[int | None] = mapped_column(Integer)


class StaffTeam(Base):
    """Teams a person works in besides their home team (``Staff.team_id``)."""

    __tablename__ = "staff_teams"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)


class Staff(UserMixin, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: ISO 639-1 codes the person can answer in, e.g. ["en", "es"]
    languages: Mapped[list[str]] = mapped_column(default=list)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: part of every sign-in's session; raising it (sign-out, new password, deactivation)
    #: ends every session signed in before, copied cookies included
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: set by the person; assignment offers mentions only to staff on duty
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: most open mentions assigned to the person at once; None means no cap
    open_cap: Mapped[int | None] = mapped_column(Integer)
    #: UI language ("en", "es", "zh"); None follows the browser's Accept-Language
    locale: Mapped[str | None] = mapped_column(String(10))

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated staff cannot log in
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session id: the person and the session version ("42.3")."""
        return f"{self.id}.{self.session_version}"

    def has_role(self, *roles: str) -> bool:
        """True if the person's role is one of ``roles`` (admin passes every check)."""
        return self.role == "admin" or self.role in roles


class StaffInvite(Base):
    """A one-time link for a person to set their first password; only its hash is stored."""

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    #: sha256 of the token in the link, so a copy of the table cannot be used to sign in
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    #: when the link was used, or replaced by a newer one; a used link never works again
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed sign-ins counted per account and per client address, shared by every web
    process through the database (see ``hub.throttle``)."""

    __tablename__ = "login_throttle"

    #: sha256 of "account:<e-mail>" or "address:<ip>", so typed e-mails are not stored
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: failed (and in-flight) sign-ins since ``window_ends`` was set
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_ends: Mapped[datetime] = mapped_column(index=True)


class PushState(StrEnum):
    """The last reported state of an account's stream consumer."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    OFF = "off"


class PlatformAccount(Base):
    """One of the company's accounts on a platform, polled (and, if it can, streamed) by the
    scheduler."""

    __tablename__ = "platform_accounts"
    __table_args__ = (UniqueConstraint("platform", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: plain settings (base URL, user id); never secrets
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Fernet token of the JSON of the credentials (see hub.crypto)
    secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: what the connector asked us to keep (e.g. a Bluesky session), encrypted like secrets
    state_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: the connector's opaque position; advanced in the same transaction as the mentions
    cursor: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    next_poll_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    budget_remaining: Mapped[int | None] = mapped_column(Integer)
    budget_reset_at: Mapped[datetime | None] = mapped_column()
    #: the push stream's last reported state: "connected", "disconnected" or "off"; None if no
    #: stream ever ran (only platforms with a StreamingConnector have one)
    push_state: Mapped[str | None] = mapped_column(String(20))
    #: when push_state last changed
    push_since: Mapped[datetime | None] = mapped_column()
    #: why the stream is not connected, in words
    push_error: Mapped[str | None] = mapped_column(Text)
    #: an employee's own connected account (only they may post to it); None = a brand account
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Customer(Base):
    """A person, whatever platforms they write from."""

    __tablename__ = "customers"
    __table_args__ = (
        # the few blocked customers, read once per queue query (SQLite stores booleans as 0/1
        # and SQLAlchemy writes the test as "blocked = 1" there)
        Index(
            "ix_customers_blocked",
            "id",
            sqlite_where=sql_text("blocked = 1"),
            postgresql_where=sql_text("blocked"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: on the blocklist: their mentions are kept but kept out of the queue and assignment
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[CustomerIdentity]] = relationship(back_populates="customer")


class CustomerIdentity(Base):
    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    #: X user id, Bluesky DID, sandbox handle: stable even when the handle changes
    platform_user_id: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(200))
    followers: Mapped[int | None] = mapped_column(Integer)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class CustomerKey(Base):
    """An order number or e-mail a customer wrote, as a digest: whoever writes it again is the
    same person (hub.customers.linking). The digest keeps the column fixed-width and indexable
    and out of plain sight; the text of the mention it came from still holds the value."""

    __tablename__ = "customer_keys"
    __table_args__ = (UniqueConstraint("kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    digest: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("mentions.id")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MentionStatus(StrEnum):
    """Where a mention stands; hub.engagement.moderation says which moves between them are legal."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ESCALATED = "escalated"
    CLOSED = "closed"


MENTION_STATUSES = tuple(MentionStatus)
#: the statuses of a mention someone still holds: every one but closed, listed so that each is
#: an index seek ("!= closed" reads every mention the hub ever had)
HELD_STATUSES = tuple(s.value for s in MentionStatus if s is not MentionStatus.CLOSED)
PRIORITIES = ("p1", "p2", "p3")


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_mentions_platform_external"),
        # A status's queue in the queue's order (pending, closed: the big ones), with the
        # columns the common filters and the header's counts read, as the active index has.
        Index(
            "ix_mentions_status_order",
            "status",
            "priority",
            "first_response_due_at",
            "id",
            "team_id",
            "customer_id",
            "assignee_id",
            "language",
        ),
        # The active queue (a few percent of a big hub) in the queue's order, with every column
        # the queue's common filters and counts read, so the first page and the counts never
        # leave the index. The condition is the queue's ACTIVE_SQL, written the same way.
        Index(
            "ix_mentions_active",
            "priority",
            "first_response_due_at",
            "id",
            "status",
            "team_id",
            "customer_id",
            "assignee_id",
            "language",
            sqlite_where=sql_text("status IN ('new', 'open', 'escalated')"),
            postgresql_where=sql_text("status IN ('new', 'open', 'escalated')"),
        ),
        Index("ix_mentions_team", "team_id", "status"),
        # each person's load (hub.engagement.assignment.open_counts): a seek per status, where
        # an index of assignee_id alone read every mention a person ever held
        Index("ix_mentions_assignee_status", "assignee_id", "status"),
        # the deadline job's worklist: unanswered mentions whose breach nobody has acted on yet
        Index(
            "ix_mentions_sla_open",
            "first_response_due_at",
            sqlite_where=sql_text("first_response_at IS NULL AND sla_breached_at IS NULL"),
            postgresql_where=sql_text("first_response_at IS NULL AND sla_breached_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("platform_accounts.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    author_handle: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10), default="mention")
    url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_reply_to_external_id: Mapped[str | None] = mapped_column(String(300))
    thread_root_external_id: Mapped[str | None] = mapped_column(String(300), index=True)
    #: platform extras needed to reply in-thread (Bluesky cids)
    reply_ref: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str | None] = mapped_column(String(8))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(12), default="new")
    priority: Mapped[str] = mapped_column(String(2), default="p3")
    #: the routing rule that placed it, for "why is this here?"
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id"))
    first_response_due_at: Mapped[datetime | None] = mapped_column()
    first_response_at: Mapped[datetime | None] = mapped_column()
    #: set once, by the deadline job, when it acted on this mention's missed deadline
    sla_breached_at: Mapped[datetime | None] = mapped_column()
    #: what triage computed at ingest (hub.engagement.attributes): language, intent, sentiment,
    #: triggers, product, pii, reach, history
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    #: which rule routed it and which of its conditions matched, with the values that matched
    routing_why: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: problems the connector noticed in the payload (stored and flagged, never dropped)
    problems: Mapped[list[str]] = mapped_column(default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)

    account: Mapped[PlatformAccount | None] = relationship()
    team: Mapped[Team | None] = relationship()
    assignee: Mapped[Staff | None] = relationship()
    customer: Mapped[Customer | None] = relationship()


class MentionPresence(Base):
    """Someone has the reply composer of a mention open with text in it (a heartbeat row).

    Rows are refreshed by the composer every ~15 s and ignored once ``last_seen`` is older than
    ``hub.engagement.presence.FRESH``; nobody needs to delete them for correctness.
    """

    __tablename__ = "mention_presence"
    __table_args__ = (Index("ix_mention_presence_seen", "mention_id", "last_seen"),)

    mention_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("mentions.id", ondelete="CASCADE"),
        primary_key=True,
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    #: when this person started writing (the first heartbeat of this stretch)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[Staff] = relationship()


class RoutingRule(Base):
    """Conditions → actions, evaluated in ``position`` order at ingest; the first match wins."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: {"languages": [...], "keywords": [...], "platforms": [...]}; empty/missing = any
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    priority: Mapped[str | None] = mapped_column(String(2))
    sla_minutes: Mapped[int | None] = mapped_column(Integer)
    #: tags added to the mentions it routes
    tags: Mapped[list[str]] = mapped_column(default=list)
    #: None = the team's own policy; else "manual", "round_robin" or "least_loaded"
    assignment: Mapped[str | None] = mapped_column(String(20))

    team: Mapped[Team | None] = relationship()


class OutboundState(StrEnum):
    """Where a reply or post stands; publishing.outbox.TRANSITIONS says which moves are legal."""

    DRAFT = "draft"
    CHECKED = "checked"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


OUTBOUND_STATES = tuple(OutboundState)


class OutboundItem(Base):
    """A reply or post on its way out; ``state`` follows hub.publishing.outbox.TRANSITIONS."""

    __tablename__ = "outbound_items"
    __table_args__ = (
        Index("ix_outbound_due", "state", "not_before"),
        Index("ix_outbound_report", "kind", "created_at", "state", "author_id", "decision_id"),
        Index("ix_outbound_sent", "kind", "sent_at", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # reply | post
    account_id: Mapped[int] = mapped_column(ForeignKey("platform_accounts.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    #: an OutboundState
    state: Mapped[str] = mapped_column(String(12), default="draft")
    not_before: Mapped[datetime | None] = mapped_column()
    #: our idempotency key, also used to reconcile after a crash mid-send
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    #: when the item entered review (for "time in review")
    review_started_at: Mapped[datetime | None] = mapped_column()
    #: what the author is told: why it waits, or the reviewer's reason for rejecting it
    review_reason: Mapped[str | None] = mapped_column(Text)
    #: distinct approvers needed (2 when a finding's rule is configured for two-person approval)
    required_approvals: Mapped[int] = mapped_column(Integer, default=1)
    #: the author's written reason when asking compliance to override a block
    override_reason: Mapped[str | None] = mapped_column(Text)

    author: Mapped[Staff] = relationship()
    account: Mapped[PlatformAccount] = relationship()
    mention: Mapped[Mention | None] = relationship()
    decision: Mapped[PolicyDecision | None] = relationship(foreign_keys=[decision_id])


class PolicyDecision(Base):
    """What the policy engine said about one version of a draft."""

    __tablename__ = "policy_decisions"
    __table_args__ = (
        Index("ix_decisions_author_time", "author_id", "created_at"),
        Index("ix_decisions_report", "created_at", "verdict", "platform", "team_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the outbound item this version belongs to (no FK: items point back via decision_id,
    #: and a cycle of foreign keys would complicate creating both rows)
    outbound_id: Mapped[int | None] = mapped_column(Integer, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(8))
    pack_version: Mapped[str] = mapped_column(String(64))
    #: the findings as the engine returned them (rule, guideline, severity, message, span)
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    platform: Mapped[str] = mapped_column(String(20))
    elapsed_ms: Mapped[float] = mapped_column(default=0.0)
    #: the engine's personal/product call for posts (None for replies)
    is_product: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(10), default="reply")  # reply | post
    #: the author's team when the decision was made (reports group by it)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class DecisionFinding(Base):
    """One finding of a decision as a row, so reports can count by guideline with an index."""

    __tablename__ = "decision_findings"
    __table_args__ = (
        Index("ix_findings_time", "created_at", "guideline"),
        Index(
            "ix_findings_report", "created_at", "rule_id", "guideline", "severity", "decision_id"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("policy_decisions.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    guideline: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


REVIEW_ACTIONS = ("approve", "reject", "edit_approve", "override")


class ReviewAction(Base):
    """A compliance officer's act on a held item; approvals are counted per distinct reviewer."""

    __tablename__ = "review_actions"
    __table_args__ = (Index("ix_review_actions_report", "at", "action", "outbound_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound_items.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(14))
    reason: Mapped[str | None] = mapped_column(Text)
    #: the decision on the edited text, for edit_approve
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[Staff] = relationship()


class PackState(StrEnum):
    """A pack version's life: a draft until activated; the active one retires when replaced."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class PolicyPackVersion(Base):
    """A version of the company's rule pack as edited in the hub; at most one is active."""

    __tablename__ = "policy_packs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the engine's content hash of ``yaml`` (what decisions record as pack_version)
    version: Mapped[str] = mapped_column(String(64))
    yaml: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    #: a PackState
    state: Mapped[str] = mapped_column(String(10), default=PackState.DRAFT.value)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("policy_packs.id"))
    #: the result of running the pack's own examples: {"passed": n, "failed": [...]}
    examples: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    activated_at: Mapped[datetime | None] = mapped_column()


class LegalHold(Base):
    """Records under hold are never purged by retention: one employee, one period, or both."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    released_at: Mapped[datetime | None] = mapped_column()


class Setting(Base):
    """Hub-wide settings changed in the UI (retention years, two-person rules, audit anchor)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DailySummary(Base):
    """The daily summary job's output: one row per UTC day."""

    __tablename__ = "daily_summaries"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only log; each row carries the hash of the one before, so tampering shows."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_subject", "subject_type", "subject_id"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[Staff | None] = relationship()


class Notification(Base):
    """Something a person should see: a deadline breach in their team, a mention for them."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_staff", "staff_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    #: "sla_breach", "assigned", ...
    kind: Mapped[str] = mapped_column(String(30))
    mention_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("mentions.id")
    )
    #: what the UI needs to word it in the reader's language (never pre-rendered English)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class CustomerNote(Base):
    """What an agent wrote down about a customer, for the next agent."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Staff | None] = relationship()


class MentionNote(Base):
    """An internal note on a mention: for the staff only, never published anywhere."""

    __tablename__ = "mention_notes"
    __table_args__ = (Index("ix_mention_notes_mention", "mention_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("mentions.id")
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    #: staff ids the note's @handles named and notified (the author is never among them)
    notified: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Staff] = relationship()


class FollowUpTask(Base):
    """Something someone must do about a mention by a time: an owner, a due time, done or not."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (
        Index("ix_follow_up_tasks_owner", "owner_id", "done_at", "due_at"),
        # the overdue job's worklist: open tasks whose owner has not been told they are late
        Index(
            "ix_follow_up_tasks_overdue",
            "due_at",
            sqlite_where=sql_text("done_at IS NULL AND overdue_notified_at IS NULL"),
            postgresql_where=sql_text("done_at IS NULL AND overdue_notified_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("mentions.id"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    #: set once, by the overdue job (compare-and-set), when it told the owner the task is late
    overdue_notified_at: Mapped[datetime | None] = mapped_column()

    owner: Mapped[Staff] = relationship(foreign_keys=[owner_id])
    mention: Mapped[Mention] = relationship()


#: the languages a saved reply can be written in
SAVED_REPLY_LANGUAGES = ("en", "es", "zh")


class SavedReply(Base):
    """A reply kept for reuse: a team's (``team_id``) or one person's own (``staff_id``), never
    both. ``body`` is a Jinja2 template checked in a sandbox when saved (hub.answers.templating).
    """

    __tablename__ = "saved_replies"
    __table_args__ = (
        CheckConstraint(
            "(team_id IS NULL) <> (staff_id IS NULL)", name="ck_saved_replies_one_owner"
        ),
        Index("ix_saved_replies_team", "team_id", "language"),
        Index("ix_saved_replies_staff", "staff_id", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: a team's reply: every member sees it, managers edit it
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    #: a personal reply: only this person sees and edits it
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    #: one of SAVED_REPLY_LANGUAGES
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: times it was rendered into a composer
    use_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])


class DecisionRollup(Base):
    """Policy decisions counted per UTC day and per UTC month × author × team × platform × verdict.

    Kept by hub.compliance.rollups in the transaction that writes the decisions, so the policy
    reports sum a few thousand rows instead of scanning a year of decisions. Both grains hold
    every decision: a report reads whole months at month grain and the days around them at day
    grain.
    """

    __tablename__ = "decision_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    #: "day" (a UTC day) or "month" (a UTC month, keyed by its first day)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: the UTC day, or the first day of the UTC month at grain "month"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    author_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the decision's team, 0 for none (a NULL would never meet its twin in the primary key)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8), primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer)


class VerdictRollup(Base):
    """Policy decisions per UTC day × team × platform × verdict: the reports' trend per day."""

    __tablename__ = "verdict_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: the decision's team, 0 for none
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8), primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer)


class FindingRollup(Base):
    """Decision findings per UTC day and month × team × platform × rule × guideline × severity."""

    __tablename__ = "finding_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    #: "day" (a UTC day) or "month" (a UTC month, keyed by its first day)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: the UTC day, or the first day of the UTC month at grain "month"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: the decision's team, 0 for none
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    guideline: Mapped[str] = mapped_column(String(10), primary_key=True)
    severity: Mapped[str] = mapped_column(String(8), primary_key=True)
    findings: Mapped[int] = mapped_column(Integer)
    #: distinct decisions with a finding of this guideline and severity, each counted on the row
    #: of its first rule (by rule id) of that pair, so summing over rules stays distinct
    decisions: Mapped[int] = mapped_column(Integer)


class MixRollup(Base):
    """Posts as the content mix counts them, per UTC day and month × author × team × platform.

    A post counts while its state is one of hub.publishing.compose.MIX_COUNTED_STATES, on the
    day it was created, with its current decision's team, platform and product flag. Kept by
    hub.compliance.rollups as items are written and moved, so the reports' content-mix table
    sums a few thousand rows instead of joining a year of posts to their decisions.
    """

    __tablename__ = "mix_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    #: "day" (a UTC day) or "month" (a UTC month, keyed by its first day)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: the UTC day the post was created, or the first day of its month at grain "month"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    author_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the post's decision's team, 0 for none or no decision
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the post's decision's platform, "" for a post without a decision
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    posts: Mapped[int] = mapped_column(Integer)
    #: of those, posts whose decision says they promote a product
    product_posts: Mapped[int] = mapped_column(Integer)


class WebhookEndpoint(Base):
    """A receiver the hub tells about events (hub.webhooks): its URL, the events it wants and
    the secret that signs what it is sent."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    #: the signing secret, a Fernet token as platform secrets are (hub.crypto); shown once
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: the event types it subscribes to (hub.webhooks.events.EVENT_TYPES)
    events: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryState(StrEnum):
    """Where a webhook delivery stands (hub.webhooks.delivery)."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One event on its way to one endpoint: written in the transaction of the change it
    reports, sent by the delivery job, retried until delivered or given up on."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # the guard against one event sent twice to one receiver
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_log", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    #: the event's id, the same for every endpoint and every attempt (X-Hub-Delivery)
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: pending → sending → delivered | pending (retry) | failed
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the current attempt was claimed; a "sending" row older than the timeout is orphaned
    claimed_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()

    endpoint: Mapped[WebhookEndpoint] = relationship()


API_SCOPES = ("read", "write")


class ApiToken(Base):
    """A person's key to the JSON API (hub.api): it acts as its owner, with the owner's role.

    Only ``digest`` (SHA-256 of the whole token) is kept, so a copy of the table opens nothing;
    ``prefix`` is the token's first characters, shown in lists so the person can tell their
    tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: "read" (GET only) or "write"
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: to the minute at best: refreshed at most once a minute (hub.api.tokens)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    owner: Mapped[Staff] = relationship(foreign_keys=[staff_id])
