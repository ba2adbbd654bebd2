"""The one submission pipeline: the pure gate, and the moderation table's automatic moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.engagement.moderation import (
    AUTOMATIC,
    TRANSITIONS,
    MoveError,
    apply_automatic,
    move_mention,
)
from hub.models import AuditEvent, Mention, MentionStatus
from hub.publishing.submission import STOPPED, Outcome, gate

S = MentionStatus


@pytest.mark.parametrize(
    ("verdict", "confirmed", "override", "resubmitted", "expected"),
    [
        ("allow", False, False, False, Outcome.SCHEDULED),
        ("allow", False, False, True, Outcome.IN_REVIEW),
        ("warn", False, False, False, Outcome.NEEDS_CONFIRMATION),
        ("warn", False, False, True, Outcome.NEEDS_CONFIRMATION),
        ("warn", True, False, False, Outcome.SCHEDULED),
        ("warn", True, False, True, Outcome.IN_REVIEW),
        ("review", False, False, False, Outcome.IN_REVIEW),
        ("review", True, False, False, Outcome.IN_REVIEW),
        ("block", False, False, False, Outcome.BLOCKED),
        ("block", True, False, False, Outcome.BLOCKED),
        ("block", False, True, False, Outcome.IN_REVIEW),
        ("block", True, True, True, Outcome.IN_REVIEW),
    ],
)
def test_gate_routes_by_verdict_alone(verdict, confirmed, override, resubmitted, expected):
    outcome = gate(
        verdict, confirmed=confirmed, override_requested=override, resubmitted=resubmitted
    )
    assert outcome == expected


def test_stopped_outcomes_create_nothing():
    assert {Outcome.BLOCKED, Outcome.NEEDS_CONFIRMATION} == STOPPED


def test_a_person_cannot_skip_to_pending_but_a_sent_reply_does(app, make_mention, make_staff):
    """new → pending is not a move a person makes; it is what a sent reply does, by the table."""
    manager = make_staff("manager")
    mention = make_mention()
    assert S.PENDING not in TRANSITIONS[S.NEW]
    assert AUTOMATIC["reply sent"][S.NEW] == S.PENDING
    with job_session(app) as session:
        row = session.get(Mention, mention.id)
        with pytest.raises(MoveError):
            move_mention(session, row, S.PENDING, manager)
        assert apply_automatic(session, row, "reply sent", manager.id)
        assert row.status == "pending"
        # a closed mention stays closed: the table has no entry for it
        row.status = S.CLOSED.value
        assert not apply_automatic(session, row, "reply sent", manager.id)
        assert row.status == "closed"
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "mention", AuditEvent.subject_id == mention.id
            )
        ).all()
    assert [e.data.get("why") for e in events if e.action == "mention.moved"] == ["reply sent"]
