"""The hub with a Bluesky account against the real Bluesky servers (PDS, AppView) run locally.

Everything goes through the hub's own code: the account is created with hub.platforms.accounts,
mentions arrive through the poll and push paths into hub.engagement.ingest, replies leave through
hub.publishing.outbox. Customers post with the atproto SDK exactly as a Bluesky app would; what
the world sees of our replies is checked on the AppView and in our repo. One network serves
every test of this file (tests/peers/bluesky, started once per test process).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from atproto import Client, client_utils, models
from sqlalchemy import func, select

from connectors.base import IncomingMention, PostRequest
from connectors.bluesky import BlueskyConnector
from hub.crypto import secret_box
from hub.db import job_session
from hub.engagement.moderation import claim_mention
from hub.models import Mention, OutboundItem, PlatformAccount, RoutingRule, Staff, Team, utcnow
from hub.platforms import push as push_module
from hub.platforms.accounts import create_account
from hub.platforms.leases import poll_lease, push_lease
from hub.platforms.polling import poll_account
from hub.platforms.present import push_health
from hub.platforms.push import PUSH_POLL_SECONDS, PushSupervisor, consume_stream
from hub.platforms.registry import connector_for
from hub.publishing.outbox import reconcile_sending, send_due
from hub.publishing.replies import SubmitReply, submit_reply


def _load_harness() -> ModuleType:
    """tests/peers/bluesky/harness.py, by path: the suite runs with --import-mode=importlib."""
    name = "hub_tests_bluesky_harness"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "peers" / "bluesky" / "harness.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_harness = _load_harness()
wait_for = _harness.wait_for
bluesky_network = _harness.bluesky_network  # the session fixture, so pytest finds it here
REPO = Path(__file__).resolve().parents[2]


# --- the cast -----------------------------------------------------------------------------------


class Customer:
    """Someone on Bluesky, posting through the SDK like any Bluesky app."""

    def __init__(self, net: Any, account: Any) -> None:
        self.net = net
        self.account = account
        self.client = Client(base_url=net.pds)
        self.client.login(account.handle, account.password)

    def mention(self, brand: Any, text: str) -> models.AppBskyFeedPost.CreateRecordResponse:
        """A post "<text-before> @brand <text-after>" with a real mention facet."""
        before, _, after = text.partition("@brand")
        built = (
            client_utils.TextBuilder()
            .text(before)
            .mention(f"@{brand.handle}", brand.did)
            .text(after)
        )
        return self.client.send_post(built)

    def reply(self, text: str, parent_uri: str) -> models.AppBskyFeedPost.CreateRecordResponse:
        """Reply once the AppView shows the parent (earlier replies may lose their notification)."""
        parent = wait_for("the parent post", lambda: self.net.visible_post(parent_uri))
        ref = models.ComAtprotoRepoStrongRef.Main(uri=parent["uri"], cid=parent["cid"])
        return self.client.send_post(
            text, reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref)
        )


@pytest.fixture
def net(bluesky_network: Any) -> Any:
    return bluesky_network


@pytest.fixture
def brand(net: Any) -> Any:
    """The company's account on the local PDS."""
    return net.create_account("brand")


@pytest.fixture
def customer(net: Any) -> Iterator[Customer]:
    made = Customer(net, net.create_account("customer"))
    yield made
    made.client.request.close()


@pytest.fixture
def teams(app: Any) -> dict[str, int]:
    """Two teams and the routing rules that send orders to one and shipping to the other."""
    with job_session(app) as s:
        care, shipping = Team(slug="care", name="Care"), Team(slug="shipping", name="Shipping")
        s.add_all([care, shipping])
        s.flush()
        s.add_all(
            [
                RoutingRule(
                    position=1, name="orders", conditions={"keywords": ["order"]}, team_id=care.id
                ),
                RoutingRule(
                    position=2,
                    name="shipping",
                    conditions={"keywords": ["ship"]},
                    team_id=shipping.id,
                ),
            ]
        )
        return {"care": care.id, "shipping": shipping.id}


@pytest.fixture
def account_id(app: Any, net: Any, brand: Any, teams: dict[str, int]) -> Iterator[int]:
    """The brand's account in the hub, as an admin adds it (credentials sealed at rest)."""
    app.config["ALLOW_LOCAL_PLATFORMS"] = True  # the test network is on http://127.0.0.1
    with job_session(app) as s:
        account = create_account(
            s,
            app,
            "bluesky",
            brand.handle,
            {"handle": brand.handle, "service": net.pds},
            {"app_password": brand.password},
        )
        account_id = account.id
    yield account_id
    for connector in app.extensions.get("hub.connectors", {}).values():
        connector[1].close()


def _mention_row(app: Any, external_id: str) -> Mention | None:
    with job_session(app) as s:
        row = s.scalars(select(Mention).where(Mention.external_id == external_id)).one_or_none()
        if row is not None:
            s.expunge(row)
        return row


def _rows_for(app: Any, external_id: str) -> int:
    with job_session(app) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(Mention).where(Mention.external_id == external_id)
            )
            or 0
        )


def _poll_until_stored(app: Any, account_id: int, *uris: str, timeout: float = 20.0) -> None:
    def stored() -> bool:
        outcome = poll_account(app, account_id)
        assert outcome.error is None, outcome.error
        return all(_mention_row(app, uri) is not None for uri in uris)

    wait_for("the poll to store " + ", ".join(uris), stored, timeout)


def _account(app: Any, account_id: int) -> PlatformAccount:
    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        s.expunge(account)
        return account


def _submit_reply(app: Any, staff_id: int, mention_id: int, text: str, key: str) -> int:
    with job_session(app) as s:
        staff = s.get(Staff, staff_id)
        mention = s.get(Mention, mention_id)
        assert staff is not None and mention is not None
        claim_mention(s, mention, staff)
        result = submit_reply(s, SubmitReply(mention_id, text), staff)
        assert result.outcome == "scheduled", result.outcome
        assert result.item is not None
        return result.item.id


def _our_replies_in_repo(net: Any, brand: Any, parent_uri: str) -> list[dict[str, Any]]:
    """Our posts replying to ``parent_uri``, straight from our repo on the PDS (no AppView lag)."""
    response = httpx.get(
        f"{net.pds}/xrpc/com.atproto.repo.listRecords",
        params={"repo": brand.did, "collection": "app.bsky.feed.post", "limit": 100},
        timeout=10,
    )
    response.raise_for_status()
    return [
        r
        for r in response.json()["records"]
        if r["value"].get("reply", {}).get("parent", {}).get("uri") == parent_uri
    ]


def _thread_replies(net: Any, uri: str) -> list[dict[str, Any]]:
    """The direct replies under ``uri`` as the AppView shows the thread."""
    data = net.appview_get("app.bsky.feed.getPostThread", uri=uri) or {}
    return [reply["post"] for reply in data.get("thread", {}).get("replies", [])]


def _assert_one_threaded_reply(net: Any, brand: Any, asked: Any, external_id: str) -> None:
    """Exactly one reply of ours under the customer's post, threaded to it, seen by the AppView."""
    wait_for(
        "our reply under the customer's post on the AppView",
        lambda: any(p["uri"] == external_id for p in _thread_replies(net, asked.uri)),
    )
    ours = [p for p in _thread_replies(net, asked.uri) if p["author"]["did"] == brand.did]
    assert [p["uri"] for p in ours] == [external_id]
    reply = ours[0]["record"]["reply"]
    assert {"uri": reply["parent"]["uri"], "cid": reply["parent"]["cid"]} == {
        "uri": asked.uri,
        "cid": asked.cid,
    }
    assert reply["root"]["uri"] == asked.uri
    assert [r["uri"] for r in _our_replies_in_repo(net, brand, asked.uri)] == [external_id]


# --- (a) + (e): polling to the queue, and our reply threaded under the customer's post --------


def test_polled_mention_and_reply_reach_the_queue_and_our_answer_is_threaded(
    app: Any,
    net: Any,
    brand: Any,
    customer: Customer,
    account_id: int,
    teams: dict[str, int],
    make_staff: Any,
) -> None:
    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        connector = connector_for(app, account)
    ours = connector.publish(PostRequest("Our spring boots are out!"))
    asked = customer.mention(brand, "Hi @brand where is my order? It's been a week")
    replied = customer.reply("Do you ship to Norway?", ours.external_id)

    _poll_until_stored(app, account_id, asked.uri, replied.uri)
    mention, reply = _mention_row(app, asked.uri), _mention_row(app, replied.uri)
    assert mention is not None and reply is not None
    assert (mention.kind, mention.team_id) == ("mention", teams["care"])
    assert (reply.kind, reply.team_id) == ("reply", teams["shipping"])
    for row in (mention, reply):
        assert row.platform == "bluesky" and row.account_id == account_id
        assert row.author_handle == customer.account.handle
        assert row.status == "new" and row.first_response_due_at is not None
    assert mention.reply_ref == {"cid": asked.cid, "root_uri": asked.uri, "root_cid": asked.cid}
    assert reply.in_reply_to_external_id == ours.external_id
    assert mention.customer_id == reply.customer_id  # one customer, one identity

    again = poll_account(app, account_id)
    assert again.result is not None and again.result.inserted == 0
    state = _account(app, account_id)
    assert state.cursor and state.last_success_at is not None and state.budget_remaining

    agent = make_staff("manager")
    item_id = _submit_reply(
        app, agent.id, mention.id, "So sorry! Your order left our warehouse today.", "a1"
    )
    assert send_due(app) == {"sent": 1}
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item is not None and item.state == "sent" and item.external_id
        external_id = item.external_id
        sent_mention = s.get(Mention, mention.id)
        assert sent_mention is not None and sent_mention.status == "pending"
    _assert_one_threaded_reply(net, brand, asked, external_id)


# --- (b) push: under 2 s, without a poll --------------------------------------------------------


def _warm_up(customer: Customer, brand: Any, app: Any) -> None:
    """The firehose has no "ready" message: mention until one comes through the stream."""

    def through() -> bool:
        post = customer.mention(brand, "warm-up @brand")
        try:
            wait_for("a warm-up mention", lambda: _mention_row(app, post.uri), 2.0)
        except AssertionError:
            return False
        return True

    wait_for("the stream to deliver", through, 30)


def test_push_stores_a_mention_without_polling(
    app: Any,
    net: Any,
    brand: Any,
    customer: Customer,
    account_id: int,
    teams: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetches: list[str | None] = []
    real_fetch = BlueskyConnector.fetch_mentions

    def counting_fetch(self: BlueskyConnector, cursor: str | None) -> Any:
        fetches.append(cursor)
        return real_fetch(self, cursor)

    monkeypatch.setattr(BlueskyConnector, "fetch_mentions", counting_fetch)
    supervisor = PushSupervisor(app)
    supervisor.sync()
    try:
        assert supervisor.running() == {account_id}
        wait_for(
            "the stream to connect",
            lambda: push_health(_account(app, account_id)).startswith("push: connected since"),
        )
        _warm_up(customer, brand, app)

        posted = customer.mention(brand, "Quick one @brand is my order KF-1234 on its way?")
        # how fast is bench/bench_latency.py's business; here: it arrives, and not by a poll
        wait_for("the pushed mention", lambda: _mention_row(app, posted.uri), 10.0)
        assert fetches == [], "push must not poll"

        row = _mention_row(app, posted.uri)
        assert row is not None
        assert (row.kind, row.team_id, row.account_id) == ("mention", teams["care"], account_id)
        assert row.text == f"Quick one @{brand.handle} is my order KF-1234 on its way?"
        assert row.reply_ref == {
            "cid": posted.cid,
            "root_uri": posted.uri,
            "root_cid": posted.cid,
        }
        untouched = _account(app, account_id)
        assert untouched.cursor is None and untouched.last_success_at is None  # push isn't a poll

        # While the stream is connected the poll is only a safety net, a minute apart.
        before = utcnow()
        assert poll_account(app, account_id).error is None
        stretched = _account(app, account_id).next_poll_at
        assert stretched is not None
        assert stretched - before >= timedelta(seconds=PUSH_POLL_SECONDS)
    finally:
        supervisor.stop()
    stopped = _account(app, account_id)
    assert push_health(stopped).startswith("push: disconnected since")
    assert "the hub stopped the stream" in push_health(stopped)
    assert stopped.next_poll_at is not None and stopped.next_poll_at <= utcnow()  # poll now


# --- (c) one row for a mention seen by push and by poll, both ways round ------------------------


class _Stream:
    """consume_stream in a thread, recording what it ingested (mention, was it new)."""

    def __init__(self, app: Any, account_id: int) -> None:
        self.got: list[tuple[IncomingMention, bool]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=consume_stream,
            args=(app, account_id, self.stop, lambda m, new: self.got.append((m, new))),
        )
        self.thread.start()

    def seen(self, uri: str) -> list[bool]:
        return [new for m, new in list(self.got) if m.external_id == uri]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


def test_a_mention_seen_by_push_and_poll_is_stored_once(
    app: Any, net: Any, brand: Any, customer: Customer, account_id: int
) -> None:
    stream = _Stream(app, account_id)
    try:
        _warm_up(customer, brand, app)
        pushed = customer.mention(brand, "@brand my order is late")
        wait_for("the pushed mention", lambda: stream.seen(pushed.uri))
        assert stream.seen(pushed.uri) == [True]

        def poll_saw_it() -> bool:
            outcome = poll_account(app, account_id)
            assert outcome.result is not None, outcome.error
            return outcome.result.duplicates >= 1 and _account(app, account_id).cursor is not None

        # The poll fetches it too (the AppView's notification), and the unique key absorbs it.
        wait_for("the poll to fetch the pushed mention", poll_saw_it, 20)
        assert _rows_for(app, pushed.uri) == 1
    finally:
        stream.close()

    # The stream saved where it stopped; a mention posted while it is down is polled first,
    # then replayed by the stream when it resumes from the saved position: still one row.
    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        state = secret_box(app).open(account.state_encrypted)
    assert isinstance(state["firehose"]["seq"], int)
    while_down = customer.mention(brand, "@brand hello? anyone there about my order?")
    _poll_until_stored(app, account_id, while_down.uri)

    stream = _Stream(app, account_id)
    try:
        wait_for("the resumed stream to replay it", lambda: stream.seen(while_down.uri), 20)
        assert stream.seen(while_down.uri) == [False]
        assert _rows_for(app, while_down.uri) == 1
        assert _rows_for(app, pushed.uri) == 1
    finally:
        stream.close()


# --- (d) crash after publish, before record: exactly one reply on the network -------------------

CRASHING_SENDER = """
import json, sys, time

from connectors.bluesky import BlueskyConnector
from hub import create_app
from hub.publishing.outbox import send_one

config, instance, item_id = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
app = create_app(config)
app.instance_path = instance
publish = BlueskyConnector.publish


def publish_then_hang(self, request):
    published = publish(self, request)
    print("published", published.external_id, flush=True)
    time.sleep(600)  # the test kill -9s this process here, before send_one records it


BlueskyConnector.publish = publish_then_hang
send_one(app, item_id)
print("recorded", flush=True)  # never reached
"""


def test_crash_after_publish_before_record_leaves_exactly_one_reply(
    app: Any,
    net: Any,
    brand: Any,
    customer: Customer,
    account_id: int,
    make_staff: Any,
    tmp_path: Path,
) -> None:
    asked = customer.mention(brand, "@brand my order arrived damaged, what now?")
    _poll_until_stored(app, account_id, asked.uri)
    mention = _mention_row(app, asked.uri)
    assert mention is not None
    agent = make_staff("manager")
    text = "We're sorry! A replacement pair is on its way, no need to send the old one back."
    item_id = _submit_reply(app, agent.id, mention.id, text, "crash-1")

    script = tmp_path / "crashing_sender.py"
    script.write_text(CRASHING_SENDER)
    config = {
        key: app.config[key]
        for key in (
            "DATABASE_URL",
            "SANDBOX_URL",
            "SECRET_KEY",
            "ENCRYPTION_KEY",
            "TESTING",
            "ALLOW_LOCAL_PLATFORMS",
        )
    }
    sender = subprocess.Popen(
        [sys.executable, str(script), json.dumps(config), app.instance_path, str(item_id)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert sender.stdout is not None
        line = sender.stdout.readline()
        assert line.startswith("published "), line + (sender.stderr.read() if sender.stderr else "")
        published_uri = line.split()[1]
        os.kill(sender.pid, signal.SIGKILL)  # a real kill -9 between publish and record
        assert sender.wait(30) == -signal.SIGKILL
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
        for stream in (sender.stdout, sender.stderr):
            if stream is not None:
                stream.close()

    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item is not None and item.state == "sending" and item.external_id is None
    assert [r["uri"] for r in _our_replies_in_repo(net, brand, asked.uri)] == [published_uri]

    assert send_due(app) == {}  # not stale yet: no retry, no second post
    assert reconcile_sending(app, stale_after=timedelta(0)) == 1
    assert send_due(app) == {}
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item is not None
        assert (item.state, item.external_id) == ("sent", published_uri)
    _assert_one_threaded_reply(net, brand, asked, published_uri)


# --- disconnects and the lease -------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_dead_stream_falls_back_to_polling_and_retries_with_growing_waits(
    app: Any, net: Any, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hub.platforms.push

    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        firehose = f"ws://127.0.0.1:{_free_port()}/xrpc"  # nothing listens there
        account.config = {**account.config, "firehose": firehose}
        account.next_poll_at = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(hub.platforms.push, "PUSH_RETRY_SECONDS", 0.2)
    attempts: list[float] = []
    real_stream = BlueskyConnector.stream_mentions

    def counting_stream(self: BlueskyConnector, *args: Any, **kwargs: Any) -> None:
        attempts.append(time.monotonic())
        real_stream(self, *args, **kwargs)

    monkeypatch.setattr(BlueskyConnector, "stream_mentions", counting_stream)
    stream = _Stream(app, account_id)
    try:
        wait_for("four connection attempts", lambda: len(attempts) >= 4, 30)
        down = _account(app, account_id)
        health = push_health(down)
        assert health.startswith("push: disconnected since"), health
        assert "firehose disconnected" in health
        assert down.next_poll_at is not None and down.next_poll_at <= utcnow()  # poll now
        # the poll is the fallback: it works while the stream is down, at the normal interval
        before = utcnow()
        assert poll_account(app, account_id).error is None
        after = _account(app, account_id).next_poll_at
        assert after is not None
        assert after - before < timedelta(seconds=PUSH_POLL_SECONDS)
    finally:
        stream.close()
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    # waits of 0.2, 0.4, 0.8 s times a jitter of 0.5-1.5: each range is above the last's floor
    assert gaps[0] >= 0.1 and gaps[2] >= 0.4 and sum(gaps[:3]) >= 0.7, gaps


def test_only_the_lease_holder_consumes_the_stream(
    app: Any, net: Any, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []
    refused: list[bool] = []
    monkeypatch.setattr(
        BlueskyConnector, "stream_mentions", lambda self, *a, **k: attempts.append(1)
    )

    @contextlib.contextmanager
    def watched_lease(app: Any, account_id: int) -> Iterator[bool]:
        with push_lease(app, account_id) as got:
            if not got:
                refused.append(True)
            yield got

    monkeypatch.setattr(push_module, "push_lease", watched_lease)
    with push_lease(app, account_id) as held:  # another worker process, as far as it knows
        assert held
        stream = _Stream(app, account_id)
        # the consumer has asked for the lease and been told no: it must not have streamed
        wait_for("the consumer to be refused the lease", lambda: refused, 10)
        assert attempts == []
        assert push_health(_account(app, account_id)) == "push: not started"
        stream.close()
    with poll_lease(app, account_id) as polled:
        # the poll's lease is a different one: a stream may run while an account is polled
        assert polled
        stream = _Stream(app, account_id)
        wait_for("the stream to start", lambda: attempts, 10)
        stream.close()
