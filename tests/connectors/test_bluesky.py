"""The Bluesky connector against the real Bluesky servers (PDS, AppView, PLC) run locally.

The network comes from tests/peers/bluesky (``@atproto/dev-env``), started once per session with
the PDS rate limits on. Every test makes its own accounts; customers post with the atproto SDK
exactly as a Bluesky app would, and what the brand sees is checked through the connector and,
for threading, through the AppView.
"""

from __future__ import annotations

import http.server
import importlib.util
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from atproto import Client, client_utils, models
from atproto_client.client.methods_mixin.time import TimeMethodsMixin

from connectors.base import (
    REGISTRY,
    AuthExpired,
    IncomingMention,
    PostRequest,
    Published,
    RateLimited,
    Rejected,
    ReplyTarget,
    Transient,
)
from connectors.bluesky import (
    DELETED_PARENT,
    BlueskyConnector,
    _Mark,
    count_graphemes,
    mention_from_notification,
)
from connectors.outbound import ALLOW_LOCAL_NETWORK

#: the test network runs on 127.0.0.1 over http: allowed as the hub allows it with
#: HUB_ALLOW_LOCAL_PLATFORMS (a connector refuses local addresses without it)
LOCAL = {ALLOW_LOCAL_NETWORK: True}


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
Account = _harness.Account
BlueskyNetwork = _harness.BlueskyNetwork
wait_for = _harness.wait_for
bluesky_network = _harness.bluesky_network  # the session fixture, so pytest finds it here

CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
CREATE_RECORD = "/xrpc/com.atproto.repo.createRecord"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def net(bluesky_network: BlueskyNetwork) -> BlueskyNetwork:
    return bluesky_network


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count HTTP requests by path at the transport, which every client in the process uses."""
    counts: dict[str, int] = {}
    real_send = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        counts[request.url.path] = counts.get(request.url.path, 0) + 1
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return counts


class Brand:
    """Our account, and connectors built for it the way the hub builds them."""

    def __init__(self, net: BlueskyNetwork, account: Account) -> None:
        self.net = net
        self.account = account
        self.saved: list[dict[str, Any]] = []  #: every state the connectors asked us to save
        self._open: list[BlueskyConnector] = []

    @property
    def state(self) -> dict[str, Any] | None:
        return self.saved[-1] if self.saved else None

    def connect(self, state: dict[str, Any] | None = None, **config: Any) -> BlueskyConnector:
        connector = REGISTRY["bluesky"](
            {"handle": self.account.handle, "service": self.net.pds, **LOCAL, **config},
            {"app_password": self.account.password},
            state=state,
            on_state_change=self.saved.append,
        )
        assert isinstance(connector, BlueskyConnector)
        self._open.append(connector)
        return connector

    def close(self) -> None:
        for connector in self._open:
            connector.close()


@pytest.fixture
def brand(net: BlueskyNetwork) -> Iterator[Brand]:
    made = Brand(net, net.create_account("brand"))
    yield made
    made.close()


class Customer:
    """Someone on Bluesky, posting through the SDK like any Bluesky app."""

    def __init__(self, net: BlueskyNetwork, account: Account) -> None:
        self.net = net
        self.account = account
        self.client = Client(base_url=net.pds)
        self.client.login(account.handle, account.password)

    def mention(self, brand: Brand, before: str = "Hi ", after: str = " where is my order?") -> Ref:
        text = (
            client_utils.TextBuilder()
            .text(before)
            .mention(f"@{brand.account.handle}", brand.account.did)
            .text(after)
        )
        return Ref.of(self.client.send_post(text))

    def post(self, text: str, **kwargs: Any) -> Ref:
        return Ref.of(self.client.send_post(text, **kwargs))

    def reply(self, text: str, parent_uri: str) -> Ref:
        """Reply once the AppView shows the parent (earlier replies may lose their notification)."""
        parent = wait_for("the parent post", lambda: self.net.visible_post(parent_uri))
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent["uri"], cid=parent["cid"])
        root = parent["record"].get("reply", {}).get("root")
        root_ref = (
            models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"])
            if root
            else parent_ref
        )
        return self.post(
            text, reply_to=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent_ref)
        )

    def quote(self, text: str, uri: str) -> Ref:
        quoted = wait_for("the quoted post", lambda: self.net.visible_post(uri))
        embed = models.AppBskyEmbedRecord.Main(
            record=models.ComAtprotoRepoStrongRef.Main(uri=quoted["uri"], cid=quoted["cid"])
        )
        return self.post(text, embed=embed)

    def delete(self, uri: str) -> None:
        self.client.delete_post(uri)

    def close(self) -> None:
        self.client.request.close()


class Ref:
    """uri + cid of a post a customer made."""

    def __init__(self, uri: str, cid: str) -> None:
        self.uri, self.cid = uri, cid

    @classmethod
    def of(cls, created: Any) -> Ref:
        return cls(created.uri, created.cid)


@pytest.fixture
def customer(net: BlueskyNetwork) -> Iterator[Customer]:
    made = Customer(net, net.create_account("customer"))
    yield made
    made.close()


def collect(
    connector: BlueskyConnector,
    cursor: str | None,
    want: set[str],
    seen: list[IncomingMention],
    timeout: float = 15.0,
) -> str | None:
    """Fetch with the cursor until every id in ``want`` arrived; nothing may come twice."""
    deadline = time.monotonic() + timeout
    while not want <= {m.external_id for m in seen}:
        assert time.monotonic() < deadline, f"missing {want - {m.external_id for m in seen}}"
        batch = connector.fetch_mentions(cursor)
        ids = [m.external_id for m in batch.mentions]
        assert not set(ids) & {m.external_id for m in seen}, "a mention came back twice"
        assert len(ids) == len(set(ids))
        seen.extend(batch.mentions)
        cursor = batch.cursor
        time.sleep(0.2)
    return cursor


def thread_reply_uris(net: BlueskyNetwork, uri: str) -> set[str]:
    data = net.appview_get("app.bsky.feed.getPostThread", uri=uri) or {}
    return {reply["post"]["uri"] for reply in data.get("thread", {}).get("replies", [])}


def strong(ref: dict[str, Any]) -> dict[str, Any]:
    """A strong ref without its $type."""
    return {"uri": ref["uri"], "cid": ref["cid"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- polling: mentions, replies, quotes ---------------------------------------------------------


def test_fetch_mentions_returns_each_kind_once_oldest_first(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    bsky = brand.connect()
    ours = bsky.publish(PostRequest("Our spring collection is out!"))
    mention = customer.mention(brand)
    reply = customer.reply("Do you ship to Norway?", ours.external_id)
    quote = customer.quote("Look at these boots", ours.external_id)

    seen: list[IncomingMention] = []
    cursor = collect(bsky, None, {mention.uri, reply.uri, quote.uri}, seen)

    assert [m.external_id for m in seen] == [mention.uri, reply.uri, quote.uri]
    by_id = {m.external_id: m for m in seen}
    m, r, q = by_id[mention.uri], by_id[reply.uri], by_id[quote.uri]
    assert (m.kind, r.kind, q.kind) == ("mention", "reply", "quote")
    for item, ref in ((m, mention), (r, reply), (q, quote)):
        assert item.platform == "bluesky"
        assert item.author.platform_id == customer.account.did
        assert item.author.handle == customer.account.handle
        assert item.created_at.tzinfo is not None
        assert abs(item.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        rkey = ref.uri.rsplit("/", 1)[1]
        assert item.url == f"https://bsky.app/profile/{customer.account.handle}/post/{rkey}"
        assert item.reply_ref["cid"] == ref.cid
        assert item.raw["uri"] == ref.uri
        assert item.problems == ()
    assert m.text == f"Hi @{brand.account.handle} where is my order?"
    assert m.in_reply_to_external_id is None
    assert m.thread_root_external_id == mention.uri
    assert m.reply_ref == {"cid": mention.cid, "root_uri": mention.uri, "root_cid": mention.cid}
    assert r.in_reply_to_external_id == ours.external_id
    assert r.thread_root_external_id == ours.external_id
    assert r.reply_ref["root_uri"] == ours.external_id

    # Nothing new: nothing returned, and the cursor stays usable.
    again = bsky.fetch_mentions(cursor)
    assert again.mentions == []
    assert again.rate_limit is not None and again.rate_limit.limit == 3000
    assert again.rate_limit.reset_at is not None

    later = customer.mention(brand, before="Still waiting, ", after="!")
    more: list[IncomingMention] = []
    cursor = collect(bsky, again.cursor, {later.uri}, more)
    assert [m.external_id for m in more] == [later.uri]
    assert bsky.fetch_mentions(cursor).mentions == []


def test_cursor_survives_a_new_connector_and_a_late_clock(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    """A post whose createdAt is a minute old sorts below the mark; the look-back still finds it."""
    bsky = brand.connect()
    first = customer.mention(brand)
    seen: list[IncomingMention] = []
    cursor = collect(bsky, None, {first.uri}, seen)

    # A client whose clock runs a minute behind: the AppView sorts by min(indexedAt, createdAt).
    late_text = f"@{brand.account.handle} my clock is slow"
    facet = models.AppBskyRichtextFacet.Main(
        features=[models.AppBskyRichtextFacet.Mention(did=brand.account.did)],
        index=models.AppBskyRichtextFacet.ByteSlice(
            byte_start=0, byte_end=len(brand.account.handle) + 1
        ),
    )
    record = models.AppBskyFeedPost.Record(
        text=late_text,
        facets=[facet],
        created_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    )
    late = customer.client.app.bsky.feed.post.create(customer.account.did, record)

    restarted = brand.connect(state=brand.state)
    more: list[IncomingMention] = []
    collect(restarted, cursor, {late.uri}, more)
    assert [m.external_id for m in more] == [late.uri]


# --- publishing ---------------------------------------------------------------------------------


def test_reply_is_threaded_with_mention_and_link_facets(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    bsky = brand.connect()
    asked = customer.mention(brand, after=" my parcel never came")
    seen: list[IncomingMention] = []
    cursor = collect(bsky, None, {asked.uri}, seen)
    mention = seen[0]

    link = "https://example.com/track?order=1234"
    text = f"Sorry @{customer.account.handle}! Tracking: {link} 👟"
    published = bsky.publish(
        PostRequest(text, reply_to=ReplyTarget(mention.external_id, mention.reply_ref))
    )
    assert published.external_id.startswith(f"at://{brand.account.did}/app.bsky.feed.post/")
    assert published.url.endswith("/post/" + published.external_id.rsplit("/", 1)[1])

    wait_for(
        "the reply under the customer's post",
        lambda: published.external_id in thread_reply_uris(net, asked.uri),
    )
    view = net.visible_post(published.external_id)
    assert view is not None
    record = view["record"]
    assert record["text"] == text
    assert strong(record["reply"]["parent"]) == {"uri": asked.uri, "cid": asked.cid}
    assert strong(record["reply"]["root"]) == {"uri": asked.uri, "cid": asked.cid}
    features = [f for facet in record["facets"] for f in facet["features"]]
    assert {"$type": "app.bsky.richtext.facet#mention", "did": customer.account.did} in features
    assert {"$type": "app.bsky.richtext.facet#link", "uri": link} in features
    encoded = text.encode()
    for facet in record["facets"]:
        span = encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        assert span in (f"@{customer.account.handle}", link)

    # The customer answers our reply; we answer again with no extras: the connector looks up
    # the parent and keeps the thread's root.
    follow_up = customer.reply("Thanks, it says delivered but it isn't here", published.external_id)
    more: list[IncomingMention] = []
    collect(bsky, cursor, {follow_up.uri}, more)
    assert more[0].kind == "reply"
    assert more[0].in_reply_to_external_id == published.external_id
    assert more[0].thread_root_external_id == asked.uri
    assert more[0].reply_ref["root_uri"] == asked.uri

    answer = bsky.publish(
        PostRequest("We'll send a new pair today.", reply_to=ReplyTarget(follow_up.uri))
    )
    seen_answer = wait_for("our second reply", lambda: net.visible_post(answer.external_id))
    assert seen_answer["record"]["reply"]["root"]["uri"] == asked.uri
    assert strong(seen_answer["record"]["reply"]["parent"]) == {
        "uri": follow_up.uri,
        "cid": follow_up.cid,
    }

    # Context for the agent: the thread from the root down.
    wait_for("the whole thread", lambda: len(bsky.fetch_thread(follow_up.uri)) == 4)
    thread = bsky.fetch_thread(follow_up.uri)
    assert [(p.external_id, p.depth) for p in thread] == [
        (asked.uri, -2),
        (published.external_id, -1),
        (follow_up.uri, 0),
        (answer.external_id, 1),
    ]
    assert thread[1].author.handle == brand.account.handle


def test_length_is_counted_in_graphemes_like_the_server(
    net: BlueskyNetwork, brand: Brand, requests_made: dict[str, int]
) -> None:
    bsky = brand.connect()
    bsky.verify()
    # 300 user-perceived characters, each two code points (e + combining acute; thumbs + tone).
    for text in ("e\u0301" * 300, "👍🏽" * 300):
        assert count_graphemes(text) == 300
        bsky.publish(PostRequest(text))  # the PDS validates 300 graphemes / 3000 bytes too
    sent = requests_made.get(CREATE_RECORD, 0)

    with pytest.raises(Rejected) as too_long:
        bsky.publish(PostRequest("a" * 301))
    assert too_long.value.reason == "The post is 301 characters long; Bluesky allows 300."
    with pytest.raises(Rejected, match="too large"):
        bsky.publish(PostRequest("👨‍👩‍👧" * 200))  # 200 graphemes but 3,600 bytes
    with pytest.raises(Rejected, match="empty"):
        bsky.publish(PostRequest("  "))
    assert requests_made.get(CREATE_RECORD, 0) == sent, "refused posts must not be sent"


def test_reply_to_a_deleted_post_is_rejected(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    bsky = brand.connect()
    asked = customer.mention(brand)
    seen: list[IncomingMention] = []
    collect(bsky, None, {asked.uri}, seen)
    customer.delete(asked.uri)

    for target in (ReplyTarget(asked.uri, seen[0].reply_ref), ReplyTarget(asked.uri)):
        with pytest.raises(Rejected) as refused:
            bsky.publish(PostRequest("Happy to help!", reply_to=target))
        assert refused.value.reason == DELETED_PARENT == "the post you are replying to was deleted"

    with pytest.raises(Rejected, match="not a Bluesky post"):
        bsky.publish(PostRequest("Hi", reply_to=ReplyTarget("1234567890")))


def test_find_published_after_a_crash(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    asked = customer.mention(brand)
    request = PostRequest(
        "We refunded your order.", reply_to=ReplyTarget(asked.uri), idempotency_key="outbox-17"
    )
    before_crash = brand.connect()
    sent = before_crash.publish(request)
    before_crash.close()  # the process dies before the outbox row is marked "sent"

    after_restart = brand.connect(state=brand.state)
    assert after_restart.find_published(request) == Published(sent.external_id, sent.url)
    # Same text to another post, or a text never sent: not found, so the outbox may send.
    assert after_restart.find_published(PostRequest(request.text)) is None
    assert (
        after_restart.find_published(PostRequest("Never sent", reply_to=request.reply_to)) is None
    )


# --- sessions -----------------------------------------------------------------------------------


def test_a_restart_reuses_the_saved_session(
    net: BlueskyNetwork,
    brand: Brand,
    requests_made: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = brand.connect()
    assert first.verify() == brand.account.handle
    assert requests_made.get(CREATE_SESSION) == 1
    assert brand.state is not None and brand.account.did in brand.state["session"]
    first.close()

    restarted = brand.connect(state=brand.state)
    assert restarted.verify() == brand.account.handle
    restarted.fetch_mentions(None)
    restarted.publish(PostRequest("Back after a restart"))
    assert requests_made.get(CREATE_SESSION) == 1, "a restart must not call createSession"

    # Two hours on, the SDK refreshes the access token; the new session is handed to the hub.
    saved = brand.state
    later = datetime.now(UTC) + timedelta(hours=3)
    with monkeypatch.context() as clock:
        clock.setattr(TimeMethodsMixin, "get_current_time", lambda self: later)
        refreshed = brand.connect(state=saved)
        refreshed.verify()
    assert brand.state is not saved and brand.state["session"] != saved["session"]
    assert requests_made.get(CREATE_SESSION) == 1

    # A session the server no longer accepts: one sign-in with the app password, then on.
    handle, did, access, refresh, pds = brand.state["session"].split(":::")
    broken = ":::".join([handle, did, access[:-6] + "AAAAAA", refresh, pds])
    recovered = brand.connect(state={"session": broken})
    assert recovered.verify() == brand.account.handle
    assert requests_made.get(CREATE_SESSION) == 2
    assert brand.state["session"] != broken


def test_wrong_app_password_is_auth_expired(net: BlueskyNetwork, brand: Brand) -> None:
    connector = BlueskyConnector(
        {"handle": brand.account.handle, "service": net.pds, **LOCAL},
        {"app_password": "wrong-password"},
    )
    with pytest.raises(AuthExpired) as failed:
        connector.verify()
    assert str(failed.value) == (
        f"Bluesky did not accept the handle @{brand.account.handle} with the stored app "
        "password. Create a new app password in Bluesky (Settings > App passwords) and enter it "
        "here."
    )
    with pytest.raises(AuthExpired, match="no handle or app password"):
        BlueskyConnector({"handle": brand.account.handle, "service": net.pds, **LOCAL}, {}).verify()


def test_create_session_rate_limit_is_rate_limited(net: BlueskyNetwork) -> None:
    account = net.create_account("limited")
    body = {"identifier": account.handle, "password": account.password}
    url = f"{net.pds}{CREATE_SESSION}"
    with httpx.Client() as http, ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: http.post(url, json=body).status_code, range(30)))
    assert statuses == [200] * 30  # createSession allows 30 per 5 minutes per handle

    connector = BlueskyConnector(
        {"handle": account.handle, "service": net.pds, **LOCAL},
        {"app_password": account.password},
    )
    with pytest.raises(RateLimited) as limited:
        connector.verify()
    now = datetime.now(UTC)
    assert limited.value.reset_at is not None
    assert now < limited.value.reset_at <= now + timedelta(minutes=5, seconds=5)
    assert str(limited.value).startswith("Bluesky is rate limiting us until ")


# --- push ---------------------------------------------------------------------------------------


def test_firehose_delivers_mentions_and_replies_but_not_other_posts(
    net: BlueskyNetwork, brand: Brand, customer: Customer
) -> None:
    bsky = brand.connect()
    ours = bsky.publish(PostRequest("Ask us anything"))
    arrived: queue.Queue[tuple[float, IncomingMention]] = queue.Queue()
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            bsky.stream_mentions(lambda m: arrived.put((time.monotonic(), m)), stop)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    stream = threading.Thread(target=run)
    stream.start()
    try:
        # The subscription has no "connected" signal: mention until the first one comes through.
        wait_for("the firehose to connect", lambda: _warm_up(customer, brand, arrived), 20)

        mention = customer.mention(brand, before="Quick one ", after=" do you have size 44?")
        _, pushed = _next_real(arrived)
        assert pushed.external_id == mention.uri
        assert (pushed.kind, pushed.author.handle) == ("mention", customer.account.handle)
        assert pushed.text == f"Quick one @{brand.account.handle} do you have size 44?"
        assert pushed.reply_ref == {
            "cid": mention.cid,
            "root_uri": mention.uri,
            "root_cid": mention.cid,
        }

        reply = customer.reply("Size 44 please", ours.external_id)
        _, pushed_reply = _next_real(arrived)
        assert (pushed_reply.external_id, pushed_reply.kind) == (reply.uri, "reply")
        assert pushed_reply.in_reply_to_external_id == ours.external_id

        bsky.publish(PostRequest("Our own posts are not mentions"))
        customer.post("Nothing to do with the brand")
        # the firehose is ordered: the next thing pushed must be this mention, not either post
        sentinel = customer.mention(brand, before="And one more ")
        _, pushed_next = _next_real(arrived)
        assert pushed_next.external_id == sentinel.uri
    finally:
        stop.set()
        stream.join(5)
    assert not stream.is_alive()
    assert errors == []


def _next_real(
    arrived: queue.Queue[tuple[float, IncomingMention]],
) -> tuple[float, IncomingMention]:
    """The next pushed mention that isn't a late warm-up."""
    while True:
        item = arrived.get(timeout=5)
        if not item[1].text.startswith("warm-up "):
            return item


def _warm_up(customer: Customer, brand: Brand, arrived: queue.Queue[Any]) -> bool:
    customer.mention(brand, before="warm-up ")
    try:
        arrived.get(timeout=1.5)
    except queue.Empty:
        return False
    while not arrived.empty():
        arrived.get()
    return True


def test_firehose_disconnect_raises_transient() -> None:
    service = f"http://127.0.0.1:{free_port()}"
    bsky = BlueskyConnector(
        {"handle": OFFLINE_HANDLE, "service": service, **LOCAL},
        {"app_password": "x"},
        state={"session": saved_session(service)},
    )
    with pytest.raises(Transient, match="firehose disconnected"):
        bsky.stream_mentions(lambda m: None, threading.Event())


# --- failures on the wire -----------------------------------------------------------------------


class _Stub(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and headers the test set."""

    status = 500
    headers_out: dict[str, str] = {}
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = b'{"error":"Oops","message":"stub"}'
        try:
            self.send_response(self.status)
            for name, value in self.headers_out.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client timed out and left

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub_pds() -> Iterator[Callable[..., str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def configure(status: int, headers: dict[str, str] | None = None, delay: float = 0.0) -> str:
        _Stub.status, _Stub.headers_out, _Stub.delay = status, headers or {}, delay
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield configure
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("status", "headers", "delay", "expected", "message"),
    [
        (500, {}, 0.0, Transient, "server error"),
        (502, {}, 0.0, Transient, "Could not reach Bluesky"),
        (503, {}, 0.0, Transient, "server error"),
        (429, {"ratelimit-reset": "1900000000"}, 0.0, RateLimited, "rate limiting us until"),
        (200, {}, 1.0, Transient, "did not answer in time"),
        (401, {}, 0.0, AuthExpired, "did not accept the handle"),
    ],
)
def test_errors_on_the_wire_map_to_connector_errors(
    stub_pds: Callable[..., str],
    status: int,
    headers: dict[str, str],
    delay: float,
    expected: type[Exception],
    message: str,
) -> None:
    # A saved session pointed at a PDS that misbehaves; the sign-in retry on 401 is refused too.
    service = stub_pds(status, headers, delay)
    connector = BlueskyConnector(
        {"handle": OFFLINE_HANDLE, "service": service, "timeout": 0.3, **LOCAL},
        {"app_password": "x"},
        state={"session": saved_session(service)},
    )
    with pytest.raises(expected, match=message) as caught:
        connector.fetch_mentions(None)
    if expected is RateLimited:
        assert caught.value.reset_at == datetime.fromtimestamp(1900000000, UTC)  # type: ignore[attr-defined]
    connector.close()


def test_unreachable_pds_is_transient() -> None:
    connector = BlueskyConnector(
        {"handle": OFFLINE_HANDLE, "service": f"http://127.0.0.1:{free_port()}", **LOCAL},
        {"app_password": "x"},
    )
    with pytest.raises(Transient, match="Could not reach Bluesky"):
        connector.verify()


OFFLINE_HANDLE = "offline.test"


def saved_session(service: str) -> str:
    """A session string as the SDK exports it, for a PDS that isn't the real network."""
    return f"{OFFLINE_HANDLE}:::did:plc:offline:::{_jwt()}:::{_jwt()}:::{service}"


def _jwt() -> str:
    """An unsigned JWT that the SDK can read the expiry of (an hour from now)."""
    import base64
    import json

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    exp = int(time.time()) + 3600
    return f"{part({'alg': 'HS256'})}.{part({'exp': exp, 'sub': 'did:plc:x'})}.c2ln"


# --- odd payloads (no network) ------------------------------------------------------------------

GOOD = {
    "uri": "at://did:plc:abc/app.bsky.feed.post/3kabc",
    "cid": "bafyreiabc",
    "author": {"did": "did:plc:abc", "handle": "ann.test", "displayName": "Ann"},
    "reason": "mention",
    "record": {"text": "hi @brand.test", "createdAt": "2026-01-02T03:04:05.123456789Z"},
    "indexedAt": "2026-01-02T03:04:06.000Z",
}


def _with(**changes: Any) -> dict[str, Any]:
    item = {**GOOD, **changes}
    return {k: v for k, v in item.items() if v is not None}


@pytest.mark.parametrize(
    ("payload", "kind", "problem"),
    [
        (GOOD, "mention", None),
        (_with(reason="reply"), "reply", None),
        (_with(reason="quote"), "quote", None),
        (_with(reason="mention-v2"), "mention", "unknown notification reason 'mention-v2'"),
        (_with(record=None), "mention", "the post record is missing"),
        (_with(record={"createdAt": "2026-01-02T03:04:05Z"}), "mention", "the post has no text"),
        (_with(record={"text": "hi"}), "mention", "no valid createdAt"),
        (_with(record={"text": "hi", "createdAt": "yesterday"}), "mention", "no valid createdAt"),
        (
            _with(record={"text": "x" * 20_000, "createdAt": "2026-01-02T03:04:05Z"}),
            "mention",
            "cut to 10000",
        ),
        (
            _with(record={"text": "ü" * 301, "createdAt": "2026-01-02T03:04:05Z"}),
            "mention",
            "longer than Bluesky allows (301",
        ),
        (
            _with(author={"did": "did:plc:abc", "handle": "handle.invalid"}),
            "mention",
            "handle is missing or invalid",
        ),
        (_with(author=None), "mention", "handle is missing or invalid"),
        (_with(cid=None), "mention", "no cid"),
        (
            _with(
                record={
                    "text": "re",
                    "createdAt": "2026-01-02T03:04:05Z",
                    "reply": {"parent": {"uri": "at://x/app.bsky.feed.post/1"}},
                }
            ),
            "mention",
            "reply reference is incomplete",
        ),
    ],
)
def test_odd_notifications_are_kept_with_problems(
    payload: dict[str, Any], kind: str, problem: str | None
) -> None:
    mention = mention_from_notification(payload)
    assert mention is not None
    assert mention.kind == kind
    assert mention.external_id == GOOD["uri"]
    assert mention.created_at.tzinfo is not None
    assert len(mention.text) <= 10_000
    if problem is None:
        assert mention.problems == ()
        assert mention.created_at == datetime(2026, 1, 2, 3, 4, 5, 123456, UTC)
        assert mention.author.display_name == "Ann"
    else:
        assert any(problem in p for p in mention.problems), mention.problems


@pytest.mark.parametrize(
    "payload",
    [
        _with(reason="like"),
        _with(reason="follow"),
        _with(uri=None),
        _with(uri="nope"),
        "junk",
        None,
    ],
)
def test_notifications_that_are_not_mentions_are_dropped(payload: Any) -> None:
    assert mention_from_notification(payload) is None


@pytest.mark.parametrize("cursor", [None, "", "garbage", '{"indexed_at": 5}', "[]", '{"seen": 1}'])
def test_unreadable_cursors_start_over(cursor: str | None) -> None:
    assert _Mark.parse(cursor).indexed_at is None
