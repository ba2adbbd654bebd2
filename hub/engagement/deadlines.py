"""The deadline job: act once on every mention whose first response is late.

A mention breaches when it is not closed, has no first response and its
``first_response_due_at`` has passed. The job marks it with ``sla_breached_at`` by a
compare-and-set ``UPDATE ... WHERE id = ? AND sla_breached_at IS NULL`` and acts only when that
statement changed the row, so two workers (or a run that read a stale worklist) act on a breach
once: on PostgreSQL the second worker's UPDATE waits for the first one's row lock and, once the
first commits, finds the condition false. Then the team's ``breach_action``: "notify" does only
what every breach does (tell the team lead), "raise" moves the priority up a step (p3 → p2 → p1),
"reassign" gives the mention to the least-loaded other eligible person (if there is one). Each
breach is audited as ``mention.sla_breached`` with what was done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.db import job_session
from hub.engagement.assignment import lock_for_assignment, pick
from hub.i18n import lazy_gettext
from hub.models import Mention, MentionStatus, Notification, Team, utcnow
from hub.webhooks.events import emit_many

#: what a team may have the job do on a missed deadline, as the team settings page names it
BREACH_ACTIONS = {
    "notify": lazy_gettext("Tell the team lead"),
    "raise": lazy_gettext("Raise the priority one step (and tell the lead)"),
    "reassign": lazy_gettext("Give it to the least-loaded other person (and tell the lead)"),
}

#: one step up for each priority; p1 stays p1
RAISE = {"p3": "p2", "p2": "p1", "p1": "p1"}
#: the most breaches one run acts on; the rest wait for the next run
BATCH = 500


@dataclass(frozen=True)
class Breach:
    """What the job did about one late mention."""

    mention_id: int
    action: str
    minutes_late: int


def overdue_ids(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Mentions past their deadline with no first response and no breach acted on yet."""
    return list(
        session.scalars(
            select(Mention.id)
            .where(
                Mention.first_response_at.is_(None),
                Mention.sla_breached_at.is_(None),
                Mention.first_response_due_at < now,
                Mention.status != MentionStatus.CLOSED.value,
            )
            .order_by(Mention.first_response_due_at, Mention.id)
            .limit(limit)
        )
    )


def _mark(session: Session, mention_id: int, now: datetime) -> bool:
    """Set ``sla_breached_at`` if nobody has; True only for the one caller that did."""
    result = session.execute(
        update(Mention)
        .where(
            Mention.id == mention_id,
            Mention.sla_breached_at.is_(None),
            Mention.first_response_at.is_(None),
            Mention.status != MentionStatus.CLOSED.value,
        )
        .values(sla_breached_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def act_on(session: Session, ids: list[int], now: datetime) -> list[Breach]:
    """Mark and act on the breaches of ``ids`` that nobody marked before (caller commits)."""
    mine = [i for i in ids if _mark(session, i, now)]
    if not mine:
        return []
    mentions = list(
        session.scalars(
            select(Mention)
            .where(Mention.id.in_(mine))
            .order_by(Mention.id)
            .execution_options(populate_existing=True)
        )
    )
    team_ids = {m.team_id for m in mentions if m.team_id is not None}
    # every team lock before the first audit event: ingest takes them in the same order
    reassigning = [
        t.id
        for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))
        if t.breach_action == "reassign"
    ]
    lock_for_assignment(session, reassigning)
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))}
    breaches = [
        _act(session, m, teams.get(m.team_id) if m.team_id else None, now) for m in mentions
    ]
    emit_many(
        session,
        "sla.breached",
        (
            {
                "mention_id": m.id,
                "team_id": m.team_id,
                "assignee_id": m.assignee_id,
                "priority": m.priority,
                "due_at": m.first_response_due_at.isoformat() if m.first_response_due_at else None,
                "minutes_late": b.minutes_late,
                "action": b.action,
            }
            for m, b in zip(mentions, breaches, strict=True)
        ),
    )
    return breaches


def _act(session: Session, m: Mention, team: Team | None, now: datetime) -> Breach:
    due = m.first_response_due_at or now
    late = max(0, int((now - due).total_seconds() // 60))
    setting = team.breach_action if team else "notify"
    action = "notified"
    data: dict[str, Any] = {}
    if team is not None and setting == "raise":
        before = m.priority
        m.priority = RAISE.get(before, before)
        action, data = "raised", {"priority_from": before, "priority_to": m.priority}
    elif team is not None and setting == "reassign":
        exclude = [m.assignee_id] if m.assignee_id is not None else []
        chosen = pick(session, team, m.language, "least_loaded", exclude=exclude)
        if chosen is None:
            action, data = "nobody_free", {}
        else:
            data = {"assignee_from": m.assignee_id, "assignee_to": chosen.staff.id}
            m.assignee_id = chosen.staff.id
            if m.status == MentionStatus.NEW:
                m.status = MentionStatus.OPEN.value
            action = "reassigned"
    lead = team.lead_id if team else None
    if lead is not None:
        session.add(
            Notification(
                staff_id=lead,
                kind="sla_breach",
                mention_id=m.id,
                data={
                    "mention_id": m.id,
                    "team_id": team.id if team else None,
                    "team": team.name if team else "",
                    "minutes_late": late,
                    "action": action,
                },
                created_at=now,
            )
        )
    session.flush()
    record_event(
        session,
        "mention.sla_breached",
        "mention",
        m.id,
        None,
        breach_action=setting,
        taken=action,
        minutes_late=late,
        due_at=due.isoformat(),
        lead_notified=lead,
        **data,
    )
    return Breach(m.id, action, late)


def act_on_breaches(session: Session, now: datetime) -> list[Breach]:
    """Find the late mentions and act on each breach once (caller commits)."""
    return act_on(session, overdue_ids(session, now), now)


def run_deadlines(app: Flask) -> Any:
    """The scheduler's job: one transaction per run."""
    with job_session(app) as session:
        return len(act_on_breaches(session, utcnow()))
