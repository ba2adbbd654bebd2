"""Retention (keep records N years, FINRA-style 7 by default) and legal holds that stop it.

What ``purge`` removes, oldest first, and only what no active legal hold covers:

- outbound items whose whole life (created and last updated) lies before the cutoff and that are
  not live work (in review, scheduled or sending), with their review actions;
- policy decisions made before the cutoff that no kept item or review action points at, with
  their per-finding rows;
- audit events before the cutoff, but only as a prefix of the hash chain: it stops at the first
  event that must stay (too young, under hold, about a kept item or an active hold; the newest
  event always stays), and records where it cut (``audit.anchor``) so ``hub audit verify``
  starts from there.

A hold names an employee (everything they authored, reviewed or did), a period (everything with
activity in it), or both (their records in that period). Holding too much is safe; purging a held
record is not, so every test errs towards keeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, and_, delete, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from hub.audit import ANCHOR_KEY, record_event, verify_chain
from hub.compliance.rollups import month_after
from hub.compliance.rollups import rebuild as rebuild_rollups
from hub.db import job_session
from hub.errors import UserError
from hub.i18n import _
from hub.models import (
    AuditEvent,
    DecisionFinding,
    LegalHold,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
    Staff,
    utcnow,
)
from hub.settings import get_setting, set_setting

log = logging.getLogger(__name__)

YEARS_KEY = "retention.years"
DEFAULT_YEARS = 7
MIN_YEARS, MAX_YEARS = 1, 100
#: items still being worked on are never purged, however old
LIVE_STATES = ("in_review", "scheduled", "sending")
_CHUNK = 500  # ids per DELETE ... IN (...), well under every driver's parameter limit


class RetentionError(UserError):
    """A retention or hold request that cannot go ahead; the message is for the user."""


# --- settings -----------------------------------------------------------------------------------


def retention_years(session: Session) -> int:
    """The configured retention period in years (the default when unset or unusable)."""
    value = get_setting(session, YEARS_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and MIN_YEARS <= value <= MAX_YEARS:
        return value
    return DEFAULT_YEARS


def set_retention_years(session: Session, raw: object, actor_id: int | None) -> int:
    """Validate and store the retention period (a whole number of years, 1 to 100)."""
    try:
        years = int(str(raw).strip())
    except ValueError:
        raise RetentionError(_("The retention period is a whole number of years.")) from None
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise RetentionError(
            _(
                "The retention period must be between %(min)s and %(max)s years.",
                min=MIN_YEARS,
                max=MAX_YEARS,
            )
        )
    if years != retention_years(session) or get_setting(session, YEARS_KEY) != years:
        set_setting(session, YEARS_KEY, years, actor_id)
    return years


def retention_cutoff(now: datetime, years: int) -> datetime:
    """``now`` minus whole calendar years (29 February falls back to the 28th)."""
    # Hand-written rather than pulling in python-dateutil for one subtraction.
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


# --- legal holds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewHold:
    """A hold as asked for: an employee, a period [starts_at, ends_at), or both, and why."""

    staff_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    reason: str


def create_hold(session: Session, form: NewHold, actor_id: int | None) -> LegalHold:
    """Place a legal hold, after checking every field; records ``legal_hold.placed``."""
    problems = []
    reason = form.reason.strip()
    if not reason:
        problems.append(_("Say why the records are held (the matter or request)."))
    if len(reason) > 2000:
        problems.append(_("Keep the reason under 2,000 characters."))
    if form.staff_id is None and form.starts_at is None and form.ends_at is None:
        problems.append(_("A hold needs an employee, a period, or both."))
    if form.staff_id is not None and session.get(Staff, form.staff_id) is None:
        problems.append(_("That employee does not exist."))
    if form.starts_at and form.ends_at and form.ends_at <= form.starts_at:
        problems.append(_("The period must end after it starts."))
    if problems:
        raise RetentionError(" ".join(problems))
    hold = LegalHold(
        staff_id=form.staff_id,
        starts_at=form.starts_at,
        ends_at=form.ends_at,
        reason=reason,
        created_by=actor_id,
        created_at=utcnow(),
    )
    session.add(hold)
    session.flush()
    record_event(
        session,
        "legal_hold.placed",
        "legal_hold",
        hold.id,
        actor_id,
        staff_id=form.staff_id,
        starts_at=form.starts_at.isoformat() if form.starts_at else None,
        ends_at=form.ends_at.isoformat() if form.ends_at else None,
        reason=reason,
    )
    return hold


def release_hold(session: Session, hold_id: int, actor_id: int | None) -> LegalHold:
    """Release an active hold (the row stays, with who released it and when)."""
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise RetentionError(_("That legal hold does not exist."))
    if hold.released_at is not None:
        raise RetentionError(_("That legal hold was already released."))
    hold.released_at = utcnow()
    hold.released_by = actor_id
    session.flush()
    record_event(session, "legal_hold.released", "legal_hold", hold.id, actor_id)
    return hold


def hold_period(hold: LegalHold) -> str:
    """The hold's period in words, with the inclusive last day (ends_at is exclusive)."""
    if hold.starts_at is None and hold.ends_at is None:
        return "all time"
    first = hold.starts_at.strftime("%Y-%m-%d") if hold.starts_at else "the beginning"
    last = (
        (hold.ends_at - timedelta(microseconds=1)).strftime("%Y-%m-%d")
        if hold.ends_at
        else "open-ended"
    )
    return f"{first} to {last}"


def list_holds(session: Session) -> Sequence[LegalHold]:
    """Every hold, active ones first, newest first."""
    return session.scalars(
        select(LegalHold).order_by(LegalHold.released_at.is_not(None), LegalHold.id.desc())
    ).all()


def active_holds(session: Session) -> list[LegalHold]:
    """Holds not yet released."""
    return list(session.scalars(select(LegalHold).where(LegalHold.released_at.is_(None))))


def _held(
    holds: Iterable[LegalHold],
    who: Callable[[int], ColumnElement[bool]],
    first: Any,
    last: Any,
) -> ColumnElement[bool]:
    """True for rows some hold covers: ``who(staff_id)`` matches the person and the row's activity
    [first, last] overlaps the hold's period."""
    clauses = []
    for h in holds:
        parts: list[ColumnElement[bool]] = []
        if h.staff_id is not None:
            parts.append(who(h.staff_id))
        if h.starts_at is not None:
            parts.append(last >= h.starts_at)
        if h.ends_at is not None:
            parts.append(first < h.ends_at)
        clauses.append(and_(*parts) if parts else true())
    return or_(*clauses) if clauses else false()


def _item_held(holds: Sequence[LegalHold]) -> ColumnElement[bool]:
    o, r = OutboundItem, ReviewAction

    def who(staff_id: int) -> ColumnElement[bool]:
        reviewed = exists().where(r.outbound_id == o.id, r.reviewer_id == staff_id)
        return or_(o.author_id == staff_id, reviewed)

    return _held(holds, who, o.created_at, o.updated_at)


def _item_old(cutoff: datetime) -> ColumnElement[bool]:
    o = OutboundItem
    return and_(o.created_at < cutoff, o.updated_at < cutoff, o.state.not_in(LIVE_STATES))


def _item_purgeable(cutoff: datetime, holds: Sequence[LegalHold]) -> ColumnElement[bool]:
    return and_(_item_old(cutoff), not_(_item_held(holds)))


# --- purge --------------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    cutoff: datetime
    years: int
    dry_run: bool
    outbound_items: int = 0
    review_actions: int = 0
    policy_decisions: int = 0
    decision_findings: int = 0
    audit_events: int = 0
    #: items older than the cutoff kept only because a legal hold covers them
    held_items: int = 0
    active_holds: int = 0
    #: the new chain anchor ({"id", "hash", "at"}) when audit events were purged
    anchor: dict[str, Any] | None = None
    #: why the audit purge stopped where it did (the first event kept)
    first_kept_event: int | None = None
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {
            "outbound_items": self.outbound_items,
            "review_actions": self.review_actions,
            "policy_decisions": self.policy_decisions,
            "decision_findings": self.decision_findings,
            "audit_events": self.audit_events,
        }


def _delete_ids(session: Session, column: Any, ids: list[int]) -> None:
    for i in range(0, len(ids), _CHUNK):
        session.execute(
            delete(column.class_)
            .where(column.in_(ids[i : i + _CHUNK]))
            .execution_options(synchronize_session=False)
        )


def _count(session: Session, column: Any, ids: list[int]) -> int:
    total = 0
    for i in range(0, len(ids), _CHUNK):
        total += session.scalar(select(func.count()).where(column.in_(ids[i : i + _CHUNK]))) or 0
    return total


def purge(
    session: Session,
    now: datetime | None = None,
    dry_run: bool = False,
    actor_id: int | None = None,
) -> PurgeReport:
    """Remove what retention allows (see the module docstring), children first.

    A dry run computes the same report and deletes nothing. A real run refuses to go ahead if
    the part of the audit chain it would delete does not verify: purging would destroy the
    evidence. It records ``audit.purged`` with the counts (and, via the setting, the anchor).
    """
    now = now or utcnow()
    years = retention_years(session)
    cutoff = retention_cutoff(now, years)
    holds = active_holds(session)
    report = PurgeReport(cutoff=cutoff, years=years, dry_run=dry_run, active_holds=len(holds))
    o, d = OutboundItem, PolicyDecision

    item_ids = list(session.scalars(select(o.id).where(_item_purgeable(cutoff, holds))))
    report.held_items = (
        session.scalar(
            select(func.count()).select_from(o).where(_item_old(cutoff), _item_held(holds))
        )
        or 0
    )

    # A decision goes when it is old, not held, not about a kept item, and nothing kept points
    # at it (the foreign keys from outbound_items and review_actions would refuse otherwise).
    about_kept_item = exists().where(o.id == d.outbound_id, not_(_item_purgeable(cutoff, holds)))
    used_by_kept_item = exists().where(o.decision_id == d.id, not_(_item_purgeable(cutoff, holds)))
    used_by_kept_review = exists().where(
        ReviewAction.decision_id == d.id,
        ReviewAction.outbound_id.not_in(select(o.id).where(_item_purgeable(cutoff, holds))),
    )
    decision_ids = list(
        session.scalars(
            select(d.id).where(
                d.created_at < cutoff,
                not_(_held(holds, lambda s: d.author_id == s, d.created_at, d.created_at)),
                not_(about_kept_item),
                not_(used_by_kept_item),
                not_(used_by_kept_review),
            )
        )
    )

    # Audit events: the first one that must stay ends the purgeable prefix.
    ae = AuditEvent
    about_kept_outbound = and_(
        ae.subject_type == "outbound",
        exists().where(o.id == ae.subject_id, not_(_item_purgeable(cutoff, holds))),
    )
    about_active_hold = and_(
        ae.subject_type == "legal_hold", ae.subject_id.in_([h.id for h in holds] or [-1])
    )
    must_keep = or_(
        ae.at >= cutoff,
        _held(holds, lambda s: ae.actor_id == s, ae.at, ae.at),
        about_kept_outbound,
        about_active_hold,
    )
    first_kept = session.scalar(select(ae.id).where(must_keep).order_by(ae.id).limit(1))
    # The newest event always stays: SQLite hands out max(id) + 1, so an emptied table would
    # reuse ids below the anchor and break the id order the chain is read in.
    head = session.scalar(select(func.max(ae.id)))
    if head is not None and (first_kept is None or head < first_kept):
        first_kept = head
    report.first_kept_event = first_kept
    prefix = ae.id < first_kept if first_kept is not None else true()
    last = session.execute(
        select(ae.id, ae.hash, ae.at).where(prefix).order_by(ae.id.desc()).limit(1)
    ).first()

    report.outbound_items = len(item_ids)
    report.policy_decisions = len(decision_ids)
    report.review_actions = _count(session, ReviewAction.outbound_id, item_ids)
    report.decision_findings = _count(session, DecisionFinding.decision_id, decision_ids)
    report.audit_events = (
        session.scalar(select(func.count()).select_from(ae).where(prefix)) or 0
        if last is not None
        else 0
    )
    if last is not None:
        report.anchor = {"id": last.id, "hash": last.hash, "at": last.at.isoformat()}
    if dry_run:
        return report

    if last is not None:
        check = verify_chain(session, until_id=first_kept if first_kept is not None else last.id)
        if check.brk is not None:
            raise RetentionError(
                f"Purge refused: the audit chain is broken at event #{check.brk.id} "
                f"({check.brk.problem}). Investigate before deleting anything."
            )

    _delete_ids(session, ReviewAction.outbound_id, item_ids)
    _delete_ids(session, DecisionFinding.decision_id, decision_ids)
    _delete_ids(session, OutboundItem.id, item_ids)
    _delete_ids(session, PolicyDecision.id, decision_ids)
    if decision_ids:
        # the purged decisions leave the report rollups too: recount the months they were in
        rebuild_rollups(session.connection(), until=month_after(cutoff.astimezone(UTC).date()))
    if last is not None:
        session.execute(
            delete(AuditEvent)
            .where(AuditEvent.id <= last.id)
            .execution_options(synchronize_session=False)
        )
        set_setting(session, ANCHOR_KEY, report.anchor, actor_id)
    session.expire_all()
    record_event(
        session,
        "audit.purged",
        "retention",
        0,
        actor_id,
        cutoff=cutoff.isoformat(),
        years=years,
        active_holds=len(holds),
        held_items=report.held_items,
        **report.counts(),
    )
    return report


def report_dict(report: PurgeReport) -> dict[str, Any]:
    """The report as plain JSON-able values."""
    out = asdict(report)
    out["cutoff"] = report.cutoff.isoformat()
    return out


def run_retention(app: Flask) -> PurgeReport | None:
    """The scheduler's nightly purge; a refusal (a chain that does not verify) is logged, not
    raised, so the other jobs keep running and the evidence stays."""

    try:
        with job_session(app) as session:
            return purge(session)
    except RetentionError as exc:
        log.error("retention purge refused: %s", exc)
        return None
