"""Events come from the real paths, in the transaction of the change they report: an ingest
batch (one INSERT for the whole batch; nothing but one small query when nobody listens), a sent
reply, a held draft and a missed deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from connectors.base import Author, Batch, IncomingMention
from connectors.sandbox import SandboxStore
from hub.db import job_session
from hub.engagement.deadlines import act_on_breaches
from hub.engagement.ingest import ingest_batch
from hub.engagement.moderation import claim_mention
from hub.models import Mention, PlatformAccount, Staff, Team, WebhookDelivery
from hub.platforms.polling import poll_all
from hub.publishing.outbox import send_due
from hub.publishing.replies import SubmitReply, submit_reply
from hub.webhooks.delivery import run_deliveries


def _batch(n: int, prefix: str = "e") -> Batch:
    return Batch(
        [
            IncomingMention(
                platform="sandbox",
                external_id=f"{prefix}{i}",
                author=Author(platform_id=f"cust{i}", handle=f"cust{i}"),
                text=f"@KestrelFootwear where is my order #{i}?",
                created_at=datetime.now(UTC),
            )
            for i in range(n)
        ],
        None,
    )


class Statements:
    """SQL statements the engine ran while counting."""

    def __init__(self, app: Any) -> None:
        self.seen: list[str] = []
        self._engine = app.extensions["hub.engine"]

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)

    def touching(self, table: str) -> list[str]:
        return [s for s in self.seen if table in s]


def _ingest(app: Any, account_id: int, batch: Batch) -> None:
    with job_session(app) as s:
        ingest_batch(s, s.get(PlatformAccount, account_id), batch)


def _deliveries(app: Any, event_type: str) -> list[WebhookDelivery]:
    with job_session(app) as s:
        rows = list(
            s.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.event_type == event_type)
                .order_by(WebhookDelivery.id)
            )
        )
        for r in rows:
            s.expunge(r)
        return rows


def test_an_ingest_batch_emits_one_event_per_new_mention_in_one_insert(
    local_app, receiver, make_endpoint, sandbox_account
):
    make_endpoint(receiver)
    with Statements(local_app) as sql:
        _ingest(local_app, sandbox_account.id, _batch(5))
    assert len([s for s in sql.touching("webhook_deliveries") if s.startswith("INSERT")]) == 1
    rows = _deliveries(local_app, "mention.created")
    assert len(rows) == 5 and len({r.event_id for r in rows}) == 5
    with job_session(local_app) as s:
        mentions = {m.id: m for m in s.scalars(select(Mention))}
    for row in rows:
        data = row.payload["data"]
        m = mentions[data["mention_id"]]
        assert (data["team_id"], data["priority"], data["status"]) == (
            m.team_id,
            m.priority,
            m.status,
        )
        assert data["text"] == m.text and data["routing_why"]
    # repeats are no new mentions, so no new events
    _ingest(local_app, sandbox_account.id, _batch(5))
    assert len(_deliveries(local_app, "mention.created")) == 5
    assert run_deliveries(local_app) == {"delivered": 5}
    assert all(r.signed for r in receiver.got)


def test_with_no_endpoint_ingest_only_asks_once_and_writes_nothing(app, sandbox_account):
    with Statements(app) as sql:
        _ingest(app, sandbox_account.id, _batch(20))
    assert len(sql.touching("webhook_endpoints")) == 1
    assert sql.touching("webhook_deliveries") == []


def test_an_endpoint_gets_only_the_events_it_chose(
    local_app, receiver, make_endpoint, sandbox_account
):
    make_endpoint(receiver, ("reply.sent",))
    _ingest(local_app, sandbox_account.id, _batch(3))
    assert _deliveries(local_app, "mention.created") == []


def _reply(app: Any, staff_id: int, mention_id: int, text: str) -> Any:
    with job_session(app) as s:
        staff = s.get(Staff, staff_id)
        mention = s.get(Mention, mention_id)
        claim_mention(s, mention, staff)
        return submit_reply(s, SubmitReply(mention_id, text), staff)


def test_a_sent_reply_emits_reply_sent(
    local_app, receiver, make_endpoint, sandbox_account, make_staff
):
    SandboxStore(local_app.config["SANDBOX_URL"]).create_post(
        "dana", "@KestrelFootwear my order hasn't arrived, tracking stuck since Saturday"
    )
    poll_all(local_app, force=True)
    with job_session(local_app) as s:
        mention = s.scalars(select(Mention)).one()
    make_endpoint(receiver, ("reply.sent",))
    agent = make_staff("manager")
    result = _reply(
        local_app, agent.id, mention.id, "So sorry! It is moving again and arrives Thursday."
    )
    assert result.outcome == "scheduled"
    assert _deliveries(local_app, "reply.sent") == []  # scheduled is not sent
    assert send_due(local_app) == {"sent": 1}
    [row] = _deliveries(local_app, "reply.sent")
    data = row.payload["data"]
    assert (data["outbound_id"], data["mention_id"], data["kind"]) == (
        result.item.id,
        mention.id,
        "reply",
    )
    assert data["external_id"]
    run_deliveries(local_app)
    assert [r.headers["X-Hub-Event"] for r in receiver.got] == ["reply.sent"]


def test_a_blocked_draft_emits_draft_held(
    local_app, receiver, make_endpoint, make_mention, make_staff
):
    mention = make_mention("@KestrelFootwear anything new coming?")
    make_endpoint(receiver, ("draft.held",))
    agent = make_staff("manager")
    result = _reply(
        local_app, agent.id, mention.id, "Project Heron samples just landed at HQ, coming soon"
    )
    assert result.outcome in ("blocked", "in_review")
    [row] = _deliveries(local_app, "draft.held")
    data = row.payload["data"]
    assert data["verdict"] in ("block", "review") and data["author_id"] == agent.id
    assert data["rules"]


def test_an_allowed_draft_emits_no_draft_held(
    local_app, receiver, make_endpoint, make_mention, make_staff
):
    mention = make_mention("@KestrelFootwear my order hasn't arrived")
    make_endpoint(receiver)
    agent = make_staff("manager")
    _reply(local_app, agent.id, mention.id, "So sorry! It is moving again and arrives Thursday.")
    assert _deliveries(local_app, "draft.held") == []


def test_a_missed_deadline_emits_sla_breached(local_app, receiver, make_endpoint, make_mention):
    mention = make_mention("@KestrelFootwear where is my order?")
    make_endpoint(receiver, ("sla.breached",))
    now = datetime.now(UTC)
    with job_session(local_app) as s:
        team = Team(slug="care", name="Care", breach_action="raise")
        s.add(team)
        s.flush()
        row = s.get(Mention, mention.id)
        row.team_id = team.id
        row.first_response_due_at = now - timedelta(minutes=30)
    with job_session(local_app) as s:
        [breach] = act_on_breaches(s, now)
    with job_session(local_app) as s:
        assert act_on_breaches(s, now + timedelta(minutes=1)) == []  # once per breach
    [row] = _deliveries(local_app, "sla.breached")
    data = row.payload["data"]
    assert (data["mention_id"], data["action"], data["minutes_late"]) == (
        mention.id,
        breach.action,
        30,
    )
    assert data["priority"] == "p2" or data["action"] == "raised"
