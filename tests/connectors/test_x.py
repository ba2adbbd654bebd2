"""The X connector against a loopback peer replaying X API v2 cassettes.

Real recordings (tweepy's cassettes of the live API) cover get_me, the mentions timeline and
create_tweet; the rest (replies, fields and expansions, since_id, pagination, errors, odd
payloads) are cassettes we wrote from the documented shapes, in tests/data/x/. tweepy, requests
and OAuth signing all run for real; only the host is 127.0.0.1.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import vcr.serialize
import vcr.serializers.yamlserializer
from requests.adapters import HTTPAdapter

from connectors.base import (
    REGISTRY,
    AuthExpired,
    Limits,
    PostRequest,
    Published,
    RateLimited,
    Rejected,
    ReplyTarget,
    Transient,
)
from connectors.outbound import ALLOW_LOCAL_NETWORK
from connectors.x import XConnector, x_weighted_length

#: our cassettes, written from the documented shapes
OURS = Path(__file__).resolve().parents[1] / "data" / "x"
#: tweepy's recordings of the real API, shared beside the repository
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "x-recordings"

OUR_ID = "1072250532645998596"  # @TweepyDev, the account of the real get_me recording
SECRETS = {
    "bearer_token": "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForTests0001",
    "consumer_key": "fakeConsumerKey0001",
    "consumer_secret": "fakeConsumerSecret0001",
    "access_token": "1072250532645998596-fakeAccessToken0001",
    "access_token_secret": "fakeAccessTokenSecret0001",
}
NEW_YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)  # the x-rate-limit-reset of our 429s

# ids in our cassettes (snowflakes made from the created_at times they carry)
SINCE_EXPANSIONS = "1899007313310646272"
OUR_POST, OUR_ANNOUNCEMENT = "1898795920389046272", "1898818569630646272"
M_REPLY, M_QUOTE, M_MENTION = "1899026187678646272", "1899029962552246272", "1899032479134646272"
PAGED = [
    "1899385052328886272",
    "1899385303987126272",
    "1899385555645366272",
    "1899385807303606272",
    "1899386058961846272",
]
SINCE_PAGED = "1899369701176246272"
BACKLOG = [
    "1899762539688886272",
    "1899762791347126272",
    "1899763043005366272",
    "1899763294663606272",
    "1899763546321846272",
]
SINCE_BACKLOG = "1899732089041846272"
SINCE_QUIET = "1900094476907446272"
SINCE_MIDWAY, MIDWAY = "1900456864773046272", ["1900502414914486272", "1900502666572726272"]
SINCE_MALFORMED = "1900819252638646272"
SINCE_BAD_UTF8 = "1901181640504246272"


@pytest.fixture
def make_connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., XConnector]]:
    """Build an XConnector aimed at a peer; closes them all at the end."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    made: list[XConnector] = []

    def make(
        peer: Any,
        *,
        secrets: dict[str, str] | None = None,
        state: str | None = None,
        on_state_change: Callable[[str], None] | None = None,
        **config: Any,
    ) -> XConnector:
        # the peers listen on 127.0.0.1: allowed as the hub allows it (HUB_ALLOW_LOCAL_PLATFORMS)
        settings: dict[str, Any] = {
            "handle": "TweepyDev",
            "user_id": OUR_ID,
            "timeout": 5,
            ALLOW_LOCAL_NETWORK: True,
        }
        if peer is not None:
            settings["api_base"] = peer.base_url
        settings.update(config)
        connector = XConnector(
            settings, dict(SECRETS if secrets is None else secrets), state, on_state_change
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


# --- identity, schema, length ---------------------------------------------------------------


def test_registered_as_x_with_weighted_280_limit() -> None:
    assert REGISTRY["x"] is XConnector
    assert XConnector.platform == "x"
    assert XConnector.limits == Limits(280, "x_weighted", "X")


def test_configuration_schema_marks_every_credential_secret() -> None:
    schema = XConnector.configuration_schema()
    secret = {name for name, field in schema.items() if field.get("secret")}
    assert secret == set(SECRETS)
    assert not schema["handle"].get("secret") and schema["handle"]["required"]
    assert {"user_id", "api_base"} <= set(schema)


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("", 0),
        ("hello", 5),
        ("a" * 280, 280),
        ("日本語", 6),  # CJK weighs 2
        ("👍🏽", 2),  # an emoji sequence counts once, as 2
        ("see https://example.com/a/very/long/path/that/x/shortens", 27),  # a URL is 23
        ("café", 4),
    ],
)
def test_weighted_length_counts_as_x_does(text: str, weighted: int) -> None:
    assert x_weighted_length(text) == weighted


def test_weighted_length_survives_invalid_unicode() -> None:
    # a lone surrogate (twitter-text would raise on it) counts as the U+FFFD it becomes
    assert x_weighted_length("a\ud800b") == x_weighted_length("a\ufffdb") == 4


# --- verify ---------------------------------------------------------------------------------


def test_verify_returns_the_handle_from_the_real_get_me(replay_peer, make_connector) -> None:
    peer = replay_peer(REAL / "test_client_get_me.yaml")
    saved: list[str] = []
    connector = make_connector(peer, user_id=None, on_state_change=saved.append)
    assert connector.verify() == "TweepyDev"
    assert saved == [OUR_ID]  # the hub persists the id: no get_me after a restart


def test_verify_with_a_revoked_token_says_what_to_check(replay_peer, make_connector) -> None:
    connector = make_connector(replay_peer(OURS / "get_me_unauthorized.yaml"))
    with pytest.raises(AuthExpired) as caught:
        connector.verify()
    message = str(caught.value)
    assert message.startswith("X rejected the access token: check the API key and secret")
    assert not any(secret in message for secret in SECRETS.values())


def test_verify_without_user_credentials_asks_nothing(replay_peer, make_connector) -> None:
    peer = replay_peer()  # any request at all fails the test
    connector = make_connector(peer, secrets={"bearer_token": SECRETS["bearer_token"]})
    with pytest.raises(AuthExpired, match="missing: consumer_key, consumer_secret"):
        connector.verify()


def test_default_host_is_api_twitter_com(replay_peer, make_connector) -> None:
    """Without api_base the connector talks to api.twitter.com (rewritten here by an adapter)."""
    peer = replay_peer(REAL / "test_client_get_me.yaml")
    connector = make_connector(None)

    class ToLoopback(HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            assert request.url.startswith("https://api.twitter.com/2/")
            assert kwargs["timeout"] == (5, 5)  # tweepy passes none; the connector always does
            request.url = request.url.replace("https://api.twitter.com", peer.base_url, 1)
            return super().send(request, **kwargs)

    connector._client.session.mount("https://api.twitter.com/", ToLoopback())
    assert connector.verify() == "TweepyDev"


# --- fetch_mentions: real recordings --------------------------------------------------------


@pytest.mark.parametrize(
    ("cassette", "count", "newest", "oldest"),
    [
        ("test_client_get_users_mentions.yaml", 10, "1578516295611748353", "1578516107798884353"),
        (
            "test_asyncclient_get_users_mentions.yaml",
            2,
            "1578522401263919106",
            "1578522395434192896",
        ),
    ],
)
def test_real_mentions_are_kept_whole_and_the_cursor_stops_where_pages_stop(
    replay_peer, make_connector, cassette: str, count: int, newest: str, oldest: str
) -> None:
    # the recording has one page and a next_token: with one page per fetch, the cursor must
    # remember that older mentions are still to come instead of jumping to the newest id
    peer = replay_peer(REAL / cassette)
    connector = make_connector(peer, user_id="783214", max_pages=1)
    batch = connector.fetch_mentions(None)

    assert len(batch.mentions) == count
    ids = [m.external_id for m in batch.mentions]
    assert ids == sorted(ids, key=int)  # oldest first
    assert ids[0] == oldest and ids[-1] == newest
    assert batch.cursor == f"newest={newest};until={oldest};since="
    assert batch.rate_limit is not None and batch.rate_limit.limit == 450
    for mention in batch.mentions:
        assert mention.platform == "x" and mention.kind == "mention"
        assert mention.raw["data"]["id"] == mention.external_id
        # that recording asked for no fields: each gap is named, nothing is invented
        assert "author_id missing" in mention.problems
        assert "created_at missing; time taken from the id" in mention.problems
        assert datetime(2022, 10, 7, 22, 30, tzinfo=UTC) <= mention.created_at
        assert mention.created_at <= datetime(2022, 10, 7, 23, 8, tzinfo=UTC)
        assert mention.url == f"https://x.com/i/web/status/{mention.external_id}"


def test_real_mentions_keep_profanity_and_emoji_verbatim(replay_peer, make_connector) -> None:
    peer = replay_peer(REAL / "test_client_get_users_mentions.yaml")
    batch = make_connector(peer, user_id="783214", max_pages=1).fetch_mentions(None)
    texts = {m.external_id: m.text for m in batch.mentions}
    assert texts["1578516242867945475"] == "@MercyKnifed @Twitter what the fuck???"
    assert texts["1578516220231397376"] == "@Twitter make 🤨 an available reaction emoji in dms"
    assert batch.rate_limit.remaining == 448
    assert batch.rate_limit.reset_at == datetime.fromtimestamp(1665183228, UTC)


# --- fetch_mentions: our cassettes ----------------------------------------------------------


def test_mentions_with_expansions_are_normalised(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_expansions.yaml")
    batch = make_connector(peer).fetch_mentions(SINCE_EXPANSIONS)

    assert [m.external_id for m in batch.mentions] == [M_REPLY, M_QUOTE, M_MENTION]
    assert batch.cursor == M_MENTION
    reply, quote, mention = batch.mentions

    assert reply.kind == "reply"
    assert reply.in_reply_to_external_id == OUR_POST
    assert reply.thread_root_external_id == OUR_POST
    assert reply.author.handle == "ana_customer" and reply.author.display_name == "Ana Ruiz"
    assert reply.author.platform_id == "1460000000000000001"
    assert reply.author.followers == 312 and reply.author.verified is False
    assert reply.created_at == datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
    assert reply.url == f"https://x.com/ana_customer/status/{M_REPLY}"
    assert reply.text == "@TweepyDev my order #4412 still hasn't shipped, it's been 9 days 😤"
    assert reply.problems == ()
    # raw keeps the tweet and what it points at, for audit
    assert reply.raw["data"]["in_reply_to_user_id"] == OUR_ID
    assert [u["username"] for u in reply.raw["includes"]["users"]] == ["ana_customer"]
    assert [t["id"] for t in reply.raw["includes"]["tweets"]] == [OUR_POST]

    assert quote.kind == "quote" and quote.in_reply_to_external_id is None
    assert quote.thread_root_external_id == M_QUOTE
    assert quote.author.verified is True and quote.author.followers == 15400
    assert quote.raw["includes"]["tweets"][0]["id"] == OUR_ANNOUNCEMENT

    assert mention.kind == "mention" and mention.author.handle == "kenji_t"
    assert mention.text == "@TweepyDev 靴のサイズ交換はできますか？"
    assert mention.raw["data"]["lang"] == "ja"

    assert batch.rate_limit.limit == 450 and batch.rate_limit.remaining == 449
    assert batch.rate_limit.reset_at == datetime.fromtimestamp(1741601700, UTC)


def test_pages_are_followed_until_x_has_no_next_token(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_pages.yaml")
    batch = make_connector(peer).fetch_mentions(SINCE_PAGED)
    assert [m.external_id for m in batch.mentions] == PAGED  # three pages, oldest first
    assert batch.cursor == PAGED[-1]
    assert batch.rate_limit.remaining == 438  # from the last page
    second = batch.mentions[1]
    assert second.kind == "reply" and second.in_reply_to_external_id == PAGED[0]


def test_a_capped_fetch_never_moves_the_cursor_past_unfetched_mentions(
    replay_peer, make_connector
) -> None:
    peer = replay_peer(OURS / "mentions_backfill.yaml")
    connector = make_connector(peer, max_pages=2)

    first = connector.fetch_mentions(SINCE_BACKLOG)
    assert [m.external_id for m in first.mentions] == BACKLOG[1:]
    # BACKLOG[0] is newer than the old cursor but not fetched: the cursor keeps the gap
    assert first.cursor == f"newest={BACKLOG[4]};until={BACKLOG[1]};since={SINCE_BACKLOG}"

    second = connector.fetch_mentions(first.cursor)  # asks since_id + until_id (cassette)
    assert [m.external_id for m in second.mentions] == BACKLOG[:1]
    assert second.cursor == BACKLOG[4]  # gap closed: on from the newest seen

    fetched = [m.external_id for m in first.mentions + second.mentions]
    assert sorted(fetched) == BACKLOG  # nothing lost, nothing twice


def test_no_new_mentions_keeps_the_cursor(replay_peer, make_connector) -> None:
    batch = make_connector(replay_peer(OURS / "mentions_empty.yaml")).fetch_mentions(SINCE_QUIET)
    assert batch.mentions == [] and batch.cursor == SINCE_QUIET
    assert batch.rate_limit.remaining == 447


def test_the_user_id_is_looked_up_once_and_handed_to_the_hub(replay_peer, make_connector) -> None:
    peer = replay_peer(REAL / "test_client_get_me.yaml", OURS / "mentions_empty.yaml")
    saved: list[str] = []
    connector = make_connector(peer, user_id=None, on_state_change=saved.append)
    assert connector.fetch_mentions(SINCE_QUIET).cursor == SINCE_QUIET
    assert saved == [OUR_ID]


def test_a_saved_user_id_spares_the_get_me(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_empty.yaml")  # a get_me would be an unexpected request
    connector = make_connector(peer, user_id=None, state=OUR_ID)
    assert connector.fetch_mentions(SINCE_QUIET).mentions == []


def test_a_malformed_page_keeps_every_mention_with_an_id(
    replay_peer, make_connector, caplog: pytest.LogCaptureFixture
) -> None:
    peer = replay_peer(OURS / "mentions_malformed.yaml")
    connector = make_connector(peer)
    with caplog.at_level(logging.INFO, logger="connectors.x"):
        batch = connector.fetch_mentions(SINCE_MALFORMED)

    by_id = {m.external_id: m for m in batch.mentions}
    assert len(by_id) == 12  # 15 items: one without id, one empty id, one not an object
    assert connector.dropped_without_id == 3
    assert "dropped 3 item(s) without an id" in caplog.text
    ids = [m.external_id for m in batch.mentions]
    assert ids == sorted(ids, key=int)
    assert batch.cursor == "1900882418856886272"

    normal = by_id["1900882418856886272"]
    assert normal.problems == () and normal.author.handle == "ana_customer"

    ghost = by_id["1900882167198646272"]
    assert ghost.problems == ("author 1460000000000000099 missing from includes.users",)
    assert ghost.author.platform_id == "1460000000000000099" and ghost.author.handle == ""
    assert ghost.url == "https://x.com/i/web/status/1900882167198646272"

    no_time = by_id["1900881915540406272"]
    assert no_time.problems == ("created_at missing; time taken from the id",)
    assert no_time.created_at == datetime(2025, 3, 15, 12, 9, tzinfo=UTC)

    odd_time = by_id["1900881663882166272"]
    assert odd_time.problems == ("created_at 'last tuesday' unreadable; time taken from the id",)
    assert odd_time.created_at == datetime(2025, 3, 15, 12, 8, tzinfo=UTC)

    huge = by_id["1900881412223926272"]
    assert len(huge.text) == 25_000
    assert huge.problems == ("text was 27911 characters; kept the first 25000",)
    assert len(huge.raw["data"]["text"]) == 27911  # raw stays as received

    broken = by_id["1900881160565686272"]
    assert broken.text == "@TweepyDev broken \ufffd emoji and a \ufffd NUL"
    assert broken.problems == (
        "text had invalid characters (NUL or lone surrogates), replaced by U+FFFD",
    )
    assert "\x00" not in broken.raw["data"]["text"]  # storable in PostgreSQL

    mystery = by_id["1900880908907446272"]
    assert mystery.kind == "mention"
    assert mystery.problems == ("unknown referenced tweet type 'mystery'",)

    retweet = by_id["1900880657249206272"]
    assert retweet.kind == "mention"
    assert retweet.problems == ("a retweet of 21, kept as a mention",)

    numeric = by_id["1900880405590966272"]
    assert numeric.problems == ("id 1900880405590966272 was a number, not a string",)

    refs_string = by_id["1900880153932726272"]
    assert refs_string.problems == ("referenced_tweets unreadable",)

    nameless = by_id["1900879902274486272"]
    assert nameless.problems == ("author 1460000000000000004 has no username",)
    assert nameless.author.display_name == "No Name Given"

    textless = by_id["1900879650616246272"]
    assert textless.text == "" and textless.problems == ("text missing",)


def test_bytes_that_are_not_utf8_are_replaced_and_flagged(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_bad_utf8.yaml")
    (mention,) = make_connector(peer).fetch_mentions(SINCE_BAD_UTF8).mentions
    assert mention.text == "@TweepyDev caf\ufffd order"
    assert mention.problems == ("the page from X had bytes that are not UTF-8; replaced by U+FFFD",)


def test_fetch_rate_limited_carries_the_reset_time(replay_peer, make_connector) -> None:
    connector = make_connector(replay_peer(OURS / "mentions_rate_limited.yaml"))
    with pytest.raises(RateLimited) as caught:
        connector.fetch_mentions(SINCE_QUIET)
    assert caught.value.reset_at == NEW_YEAR_2026
    assert "2026-01-01 00:00:00 UTC" in str(caught.value)


def test_a_429_between_pages_returns_what_arrived(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_rate_limited_midway.yaml")
    batch = make_connector(peer).fetch_mentions(SINCE_MIDWAY)
    assert [m.external_id for m in batch.mentions] == MIDWAY
    assert batch.cursor == f"newest={MIDWAY[1]};until={MIDWAY[0]};since={SINCE_MIDWAY}"
    assert batch.rate_limit.remaining == 0 and batch.rate_limit.reset_at == NEW_YEAR_2026


def test_fetch_503_is_transient(replay_peer, make_connector) -> None:
    connector = make_connector(replay_peer(OURS / "mentions_unavailable.yaml"))
    with pytest.raises(Transient, match="server error \\(503\\)"):
        connector.fetch_mentions(SINCE_QUIET)


def test_fetch_timeout_is_transient(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "mentions_empty.yaml", delay=2.0)
    connector = make_connector(peer, timeout=0.3)
    # the peer answers after 2 s: only the 0.3 s timeout can produce this error
    with pytest.raises(Transient, match="did not answer within 0.3 s"):
        connector.fetch_mentions(SINCE_QUIET)


@pytest.mark.parametrize("cursor", ["yesterday", "newest=1;until=x;since=", "since=5"])
def test_a_cursor_we_did_not_write_is_refused(make_connector, cursor: str) -> None:
    with pytest.raises(ValueError, match="not an X mentions cursor"):
        make_connector(None).fetch_mentions(cursor)


# --- publish --------------------------------------------------------------------------------


def test_publish_real_create_tweet(replay_peer, make_connector) -> None:
    peer = replay_peer((REAL / "test_client_create_and_delete_tweet.yaml", [0]))
    published = make_connector(peer).publish(PostRequest(text="Test Tweet"))
    assert published == Published(
        "1456012973835788293", "https://x.com/TweepyDev/status/1456012973835788293"
    )


def test_publish_a_reply_sends_in_reply_to_tweet_id(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "publish_reply.yaml")  # checks the JSON body
    text = (
        "@ana_customer So sorry about the wait, Ana! Your order #4412 ships today: "
        "https://example.com/orders/4412"
    )
    published = make_connector(peer).publish(
        PostRequest(text=text, reply_to=ReplyTarget(M_REPLY), idempotency_key="outbox-17")
    )
    assert published.external_id == "1899027445969846272"
    assert published.url == "https://x.com/TweepyDev/status/1899027445969846272"


SHOP_HOURS = PostRequest(text="Our shop opens at 9 tomorrow.")


@pytest.mark.parametrize(
    ("cassette", "request_", "error", "words"),
    [
        (
            "publish_reply_deleted.yaml",
            PostRequest("Thanks for reaching out!", ReplyTarget(M_REPLY)),
            Rejected,
            "the post you are replying to was deleted or is not visible to this account",
        ),
        (
            "publish_duplicate.yaml",
            SHOP_HOURS,
            Rejected,
            "X refused a duplicate: this account already posted the same text",
        ),
        ("publish_unauthorized.yaml", SHOP_HOURS, AuthExpired, "X rejected the access token"),
        ("publish_forbidden.yaml", SHOP_HOURS, AuthExpired, "lack the needed permission"),
        ("publish_rate_limited.yaml", SHOP_HOURS, RateLimited, "refills at 2026-01-01 00:00:00"),
        ("publish_rate_limited_no_reset.yaml", SHOP_HOURS, RateLimited, "did not say when"),
        ("publish_unavailable.yaml", SHOP_HOURS, Transient, "server error (503)"),
    ],
)
def test_publish_errors_are_typed_in_plain_words(
    replay_peer,
    make_connector,
    monkeypatch: pytest.MonkeyPatch,
    cassette: str,
    request_: PostRequest,
    error: type,
    words: str,
) -> None:
    connector = make_connector(replay_peer(OURS / cassette))
    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(min(s, 0.01))))
    with pytest.raises(error) as caught:
        connector.publish(request_)
    assert words in str(caught.value)
    if isinstance(caught.value, Rejected):
        assert caught.value.reason == str(caught.value)
    # a 429 is reported, never slept on or retried (the peer fails on a second request)
    assert [s for s in slept if s > 0.05] == []


def test_a_429_without_reset_has_no_reset_time(replay_peer, make_connector) -> None:
    connector = make_connector(replay_peer(OURS / "publish_rate_limited_no_reset.yaml"))
    with pytest.raises(RateLimited) as caught:
        connector.publish(SHOP_HOURS)
    assert caught.value.reset_at is None


def test_a_429_with_reset_has_the_reset_time(replay_peer, make_connector) -> None:
    connector = make_connector(replay_peer(OURS / "publish_rate_limited.yaml"))
    with pytest.raises(RateLimited) as caught:
        connector.publish(SHOP_HOURS)
    assert caught.value.reset_at == NEW_YEAR_2026


def test_publish_timeout_is_transient(replay_peer, make_connector) -> None:
    peer = replay_peer(OURS / "publish_slow.yaml", delay=2.0)
    connector = make_connector(peer, timeout=0.3)
    with pytest.raises(Transient, match="did not answer within 0.3 s while publishing"):
        connector.publish(SHOP_HOURS)


def test_publish_with_x_unreachable_is_transient(make_connector) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = make_connector(None, api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(Transient, match="could not reach X while publishing"):
        connector.publish(SHOP_HOURS)


# --- find_published -------------------------------------------------------------------------

OWN_REPLY = PostRequest(
    "@ana_customer So sorry about the wait & thanks for your patience, Ana! "
    "Details: https://example.com/orders/4412",
    ReplyTarget(M_REPLY),
)


@pytest.mark.parametrize(
    ("request_", "found"),
    [
        # X stores "&amp;" and a t.co link: still the same post
        (OWN_REPLY, "1899027823457206272"),
        (PostRequest("New hours from Monday > 8am to 8pm & Sundays too!"), "1899028326773686272"),
        # the same words answering another post are another post
        (PostRequest(OWN_REPLY.text, ReplyTarget(M_QUOTE)), None),
        (PostRequest(OWN_REPLY.text), None),
        (PostRequest("Something we never posted"), None),
    ],
)
def test_find_published_matches_text_and_reply_target(
    replay_peer, make_connector, request_: PostRequest, found: str | None
) -> None:
    connector = make_connector(replay_peer(OURS / "own_tweets.yaml"))
    result = connector.find_published(request_)
    if found is None:
        assert result is None
    else:
        assert result == Published(found, f"https://x.com/TweepyDev/status/{found}")


# --- secrets and cassettes ------------------------------------------------------------------


def test_no_secret_reaches_the_logs_or_the_errors(
    replay_peer, make_connector, caplog: pytest.LogCaptureFixture
) -> None:
    peer = replay_peer(
        REAL / "test_client_get_me.yaml",
        OURS / "mentions_expansions.yaml",
        OURS / "publish_unauthorized.yaml",
    )
    connector = make_connector(peer, user_id=None)
    with caplog.at_level(logging.DEBUG):
        connector.verify()
        connector.fetch_mentions(SINCE_EXPANSIONS)
        with pytest.raises(AuthExpired) as caught:
            connector.publish(SHOP_HOURS)
    logged = caplog.text
    assert "Bearer [redacted]" in logged  # tweepy did log its headers, blanked
    assert "oauth_token" in logged  # and requests-oauthlib its signed header
    for secret in SECRETS.values():
        assert secret not in logged
        assert secret not in str(caught.value)


def test_our_cassettes_say_they_were_written_and_load_in_vcrpy() -> None:
    cassettes = sorted(OURS.glob("*.yaml"))
    assert len(cassettes) >= 15
    for path in cassettes:
        text = path.read_text(encoding="utf-8")
        assert text.startswith(
            "# Written by us from the documented X API v2 shapes, not recorded from X.\n"
        ), path.name
        requests_, responses = vcr.serialize.deserialize(text, vcr.serializers.yamlserializer)
        assert requests_ and len(requests_) == len(responses), path.name
