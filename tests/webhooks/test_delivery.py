"""Delivery: signed, retried with backoff, given up after 8 attempts, orphans freed, and each
event sent once to each receiver, however many workers send (a real receiver on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub.db import job_session
from hub.errors import Conflict
from hub.models import AuditEvent, WebhookDelivery, WebhookEndpoint, utcnow
from hub.webhooks.delivery import (
    BACKOFF,
    MAX_ATTEMPTS,
    SENDING_TIMEOUT,
    Attempt,
    backoff,
    claim,
    due_ids,
    record,
    release_stale,
    run_deliveries,
    signature,
)
from hub.webhooks.endpoints import queue_ping, redeliver, set_endpoint_active
from hub.webhooks.events import emit


def _emit(app: Any, event_type: str = "mention.created", **data: Any) -> str | None:
    with job_session(app) as s:
        return emit(s, event_type, {"mention_id": 1, **data})


def _deliveries(app: Any) -> list[WebhookDelivery]:
    with job_session(app) as s:
        rows = list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        for r in rows:
            s.expunge(r)
        return rows


def test_an_event_is_posted_signed_with_its_id_and_type(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    event_id = _emit(local_app, text="hello")
    assert run_deliveries(local_app) == {"delivered": 1}
    [got] = receiver.got
    assert got.signed
    assert got.headers["X-Hub-Event"] == "mention.created"
    assert got.headers["X-Hub-Delivery"] == event_id
    assert got.headers["Content-Type"] == "application/json"
    assert got.event["id"] == event_id and got.event["type"] == "mention.created"
    assert got.event["data"] == {"mention_id": 1, "text": "hello"}
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None
    assert run_deliveries(local_app) == {}
    assert len(receiver.got) == 1


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", body) == "sha256=" + expected
    # a changed body, timestamp or secret no longer verifies
    assert signature("s3cret", "1700000000", b'{"a":2}') != signature("s3cret", "1700000000", body)
    assert signature("s3cret", "1700000001", body) != signature("s3cret", "1700000000", body)
    assert signature("other", "1700000000", body) != signature("s3cret", "1700000000", body)


def test_a_receiver_with_another_secret_sees_a_bad_signature(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    receiver.secret = "not-the-endpoints-secret"
    _emit(local_app)
    run_deliveries(local_app)
    assert [r.signed for r in receiver.got] == [False]


def test_a_500_is_retried_after_a_backoff_then_delivered(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    receiver.answers = [500]
    event_id = _emit(local_app)
    now = utcnow()
    assert run_deliveries(local_app, now) == {"pending": 1}
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    wait = (row.next_attempt_at - now).total_seconds()
    assert BACKOFF[0] * 0.8 <= wait <= BACKOFF[0] * 1.2
    assert run_deliveries(local_app, now + timedelta(seconds=5)) == {}  # not due yet
    assert run_deliveries(local_app, now + timedelta(minutes=2)) == {"delivered": 1}
    assert receiver.delivered_ids == [event_id, event_id]  # the same event, twice attempted
    assert all(r.signed for r in receiver.got)
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 2, 200)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    receiver.answers = [302]
    _emit(local_app)
    assert run_deliveries(local_app) == {"pending": 1}
    assert len(receiver.got) == 1


def test_after_eight_failures_the_delivery_is_failed(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    receiver.answers = [503] * MAX_ATTEMPTS
    _emit(local_app)
    now = utcnow()
    outcomes = []
    for n in range(MAX_ATTEMPTS + 2):
        outcomes.append(run_deliveries(local_app, now + timedelta(days=n)))
    assert outcomes == [{"pending": 1}] * 7 + [{"failed": 1}, {}, {}]
    assert len(receiver.got) == MAX_ATTEMPTS
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts, row.last_status) == ("failed", 8, 503)


def test_the_retries_span_about_a_day_with_jitter():
    assert len(BACKOFF) == MAX_ATTEMPTS - 1
    assert timedelta(hours=18) <= timedelta(seconds=sum(BACKOFF)) <= timedelta(hours=30)
    assert list(BACKOFF) == sorted(BACKOFF)
    waits = {backoff(3).total_seconds() for _ in range(50)}
    assert len(waits) > 1 and all(900 * 0.8 <= w <= 900 * 1.2 for w in waits)


def test_a_stale_sending_delivery_returns_to_pending(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    _emit(local_app)
    crashed = utcnow() - SENDING_TIMEOUT - timedelta(seconds=1)
    with job_session(local_app) as s:  # a worker claimed it, then died before sending
        assert len(claim(s, due_ids(s, utcnow()), crashed)) == 1
    assert run_deliveries(local_app) == {"delivered": 1}
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts) == ("delivered", 2)
    assert len(receiver.got) == 1


def test_a_delivery_being_sent_right_now_is_left_alone(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    _emit(local_app)
    now = utcnow()
    with job_session(local_app) as s:
        claim(s, due_ids(s, now), now)
    with job_session(local_app) as s:
        assert release_stale(s, now + SENDING_TIMEOUT - timedelta(seconds=1)) == 0
    assert run_deliveries(local_app, now) == {}
    assert [r.state for r in _deliveries(local_app)] == ["sending"]
    assert receiver.got == []


def test_two_workers_with_the_same_worklist_claim_each_delivery_once(
    local_app, receiver, make_endpoint
):
    """The claim's ``state = 'pending'`` condition: without it the second worker claims too."""
    make_endpoint(receiver)
    for _ in range(3):
        _emit(local_app)
    now = utcnow()
    with job_session(local_app) as s:
        worklist = due_ids(s, now)
    with job_session(local_app) as s:
        first = claim(s, worklist, now)
    with job_session(local_app) as s:
        second = claim(s, worklist, now)
    assert len(first) == 3 and second == []
    assert [r.attempts for r in _deliveries(local_app)] == [1, 1, 1]


def test_a_late_outcome_never_overwrites_a_newer_attempt(local_app, receiver, make_endpoint):
    """A worker that outlived the timeout records nothing over the attempt that replaced it."""
    make_endpoint(receiver)
    _emit(local_app)
    t0 = utcnow() - SENDING_TIMEOUT * 2
    with job_session(local_app) as s:
        [delivery_id] = claim(s, due_ids(s, utcnow()), t0)
    slow = Attempt(delivery_id, 1, "e", "mention.created", {}, receiver.url, "s")
    now = utcnow()
    with job_session(local_app) as s:
        release_stale(s, now)
        claim(s, due_ids(s, now), now)
    with job_session(local_app) as s:
        assert record(s, slow, 500, "HTTP 500", now) == ""
    [row] = _deliveries(local_app)
    assert (row.state, row.attempts, row.last_status) == ("sending", 2, None)


def test_one_event_cannot_be_stored_twice_for_one_endpoint(local_app, receiver, make_endpoint):
    """The unique key (endpoint_id, event_id)."""
    endpoint_id = make_endpoint(receiver)
    with pytest.raises(IntegrityError), job_session(local_app) as s:
        for _ in range(2):
            s.add(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event_id="a" * 32,
                    event_type="mention.created",
                    payload={},
                    state="pending",
                    attempts=0,
                )
            )
            s.flush()
    assert _deliveries(local_app) == []


def test_concurrent_workers_deliver_every_event_exactly_once(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    with job_session(local_app) as s:
        ids = [emit(s, "mention.created", {"n": n}) for n in range(40)]
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(4):
                run_deliveries(local_app)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(receiver.delivered_ids) == sorted(ids)
    assert {r.state for r in _deliveries(local_app)} == {"delivered"}


def test_each_subscribed_active_endpoint_gets_its_own_delivery(
    local_app, receiver, make_endpoint, make_staff
):
    a = make_endpoint(receiver)
    b = make_endpoint(receiver, ("reply.sent",))
    c = make_endpoint(receiver)
    admin = make_staff("admin")
    with job_session(local_app) as s:
        set_endpoint_active(s, s.get(WebhookEndpoint, c), False, admin.id)
    event_id = _emit(local_app)
    rows = _deliveries(local_app)
    assert [(r.endpoint_id, r.event_id) for r in rows] == [(a, event_id)]
    assert b not in {r.endpoint_id for r in rows}


def test_a_rolled_back_change_sends_nothing(local_app, receiver, make_endpoint):
    make_endpoint(receiver)
    with pytest.raises(RuntimeError), job_session(local_app) as s:
        emit(s, "mention.created", {"mention_id": 1})
        raise RuntimeError("the change failed")
    assert _deliveries(local_app) == []
    assert run_deliveries(local_app) == {}


def test_redeliver_sends_the_same_event_again_and_only_a_failed_one(
    local_app, receiver, make_endpoint, make_staff
):
    make_endpoint(receiver)
    admin = make_staff("admin")
    receiver.answers = [500] * MAX_ATTEMPTS
    event_id = _emit(local_app)
    now = utcnow()
    for n in range(MAX_ATTEMPTS):
        run_deliveries(local_app, now + timedelta(days=n))
    [row] = _deliveries(local_app)
    assert row.state == "failed"
    with job_session(local_app) as s:
        redeliver(s, s.get(WebhookDelivery, row.id), admin.id)
    assert run_deliveries(local_app, now + timedelta(days=30)) == {"delivered": 1}
    assert receiver.delivered_ids == [event_id] * (MAX_ATTEMPTS + 1)
    [row] = _deliveries(local_app)
    assert (row.state, row.event_id) == ("delivered", event_id)
    # the state guard: a delivered one is not sent again
    with pytest.raises(Conflict), job_session(local_app) as s:
        redeliver(s, s.get(WebhookDelivery, row.id), admin.id)
    with job_session(local_app) as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "webhook.redelivered")
            )
            == 1
        )


def test_a_ping_reaches_the_one_endpoint(local_app, receiver, make_endpoint, make_staff):
    endpoint_id = make_endpoint(receiver)
    admin = make_staff("admin")
    with job_session(local_app) as s:
        queue_ping(s, s.get(WebhookEndpoint, endpoint_id), admin.id)
    assert run_deliveries(local_app) == {"delivered": 1}
    [got] = receiver.got
    assert got.signed and got.headers["X-Hub-Event"] == "ping"
    assert json.loads(got.body)["data"] == {"endpoint_id": endpoint_id}
