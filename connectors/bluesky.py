"""Bluesky connector: one account on a PDS, through ``atproto.Client``.

Sessions: the app password is used once (``createSession`` is limited to 30 per 5 minutes and
300 a day); the session string is handed to the hub through ``on_state_change`` whenever it is
created or refreshed, and a new instance built with that state imports it instead of signing in.

Mentions: ``app.bsky.notification.listNotifications`` has no "since" parameter and pages toward
older items, so the cursor we hand back is our own high-water mark (the newest ``indexedAt`` and
its URI) plus the URIs seen in the last few minutes. The AppView sorts notifications by
``min(indexedAt, createdAt)``, so a post from a client whose clock runs behind lands slightly
below the mark; re-reading a short window and skipping the URIs already seen keeps those without
returning anything twice.

Push (the optional ``StreamingConnector`` interface): ``stream_mentions`` reads post commits
from a firehose and hands over the ones addressed to us; it returns when asked to stop and
raises ``Transient`` when the connection drops, so the caller falls back to polling. The
firehose's sequence number of the last message handled is kept in the saved state, so a
reconnect resumes where the stream stopped (only if that was recently: an old cursor would
replay a relay's whole backlog, and the poll covers the gap anyway).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import grapheme
import httpx
from atproto import (
    CAR,
    Client,
    FirehoseSubscribeReposClient,
    Session,
    SessionEvent,
    models,
    parse_subscribe_repos_message,
)
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from connectors.base import (
    AuthExpired,
    Author,
    Batch,
    Connector,
    ConnectorError,
    IncomingMention,
    Kind,
    Limits,
    PostRequest,
    Published,
    RateBudget,
    RateLimited,
    Rejected,
    ReplyTarget,
    StreamingConnector,
    Transient,
    register,
)
from connectors.outbound import AddressPolicy, GuardedTransport, UnsafeAddress

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SERVICE = "https://bsky.social"
#: bsky.social is an entryway, not a PDS with a useful firehose: mentions of us are written to
#: other people's repos, which only the relay sees.
DEFAULT_FIREHOSE = "wss://bsky.network/xrpc"
POST_COLLECTION = "app.bsky.feed.post"
MENTION_REASONS: tuple[Kind, ...] = ("mention", "reply", "quote")
#: notification reasons that are not something addressed to us in words
IGNORED_REASONS = frozenset(
    {
        "like",
        "repost",
        "follow",
        "like-via-repost",
        "repost-via-repost",
        "starterpack-joined",
        "verified",
        "unverified",
        "subscribed-post",
        "contact-match",
    }
)
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000  #: the lexicon's other limit on app.bsky.feed.post text
#: incoming text beyond this is cut (and flagged): nobody reads it, and it must fit a row
MAX_KEPT_CHARS = 10_000
DELETED_PARENT = "the post you are replying to was deleted"
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing"})
_AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


# --- small pure helpers -------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    """Parse an atproto datetime (RFC 3339, any fraction length) to aware UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # atproto requires a timezone; a naive time is not trustworthy
    return parsed.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _split_uri(uri: str) -> tuple[str, str, str] | None:
    match = _AT_URI.match(uri or "")
    if not match:
        return None
    return match["repo"], match["collection"], match["rkey"]


def post_url(handle_or_did: str, uri: str) -> str:
    """The bsky.app web address of a post."""
    parts = _split_uri(uri)
    if not parts:
        return ""
    return f"https://bsky.app/profile/{handle_or_did or parts[0]}/post/{parts[2]}"


def count_graphemes(text: str) -> int:
    """Length as Bluesky counts it: user-perceived characters (extended grapheme clusters)."""
    return int(grapheme.length(text))


def _json_safe(value: Any) -> Any:
    """A copy of ``value`` that json.dumps accepts (CIDs and bytes from CBOR become strings)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mentions_did(record: Mapping[str, Any], did: str) -> bool:
    for facet in record.get("facets") or ():
        for feature in _dict(facet).get("features") or ():
            feature = _dict(feature)
            if feature.get("did") == did and str(feature.get("$type", "")).endswith("#mention"):
                return True
    return False


def _quoted_uri(record: Mapping[str, Any]) -> str | None:
    embed = _dict(record.get("embed"))
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return _str(_dict(embed.get("record")).get("uri"))
    if kind == "app.bsky.embed.recordWithMedia":
        return _str(_dict(_dict(embed.get("record")).get("record")).get("uri"))
    return None


def _is_ours(uri: str | None, did: str) -> bool:
    return bool(uri) and (uri or "").startswith(f"at://{did}/")


def addressed_kind(record: Mapping[str, Any], did: str) -> Kind | None:
    """How a post addresses ``did``: mention wins over reply over quote, as in the AppView."""
    if _mentions_did(record, did):
        return "mention"
    reply = _dict(record.get("reply"))
    parent = _str(_dict(reply.get("parent")).get("uri"))
    root = _str(_dict(reply.get("root")).get("uri"))
    if _is_ours(parent, did) or _is_ours(root, did):
        return "reply"
    if _is_ours(_quoted_uri(record), did):
        return "quote"
    return None


def mention_from_post(
    *,
    uri: str,
    cid: str | None,
    author: Author,
    record: Any,
    kind: Kind,
    raw: Mapping[str, Any],
    fallback_time: datetime | None = None,
    problems: Iterable[str] = (),
) -> IncomingMention:
    """Normalise one post record; anything odd becomes a problem, never an exception."""
    found = list(problems)
    if not isinstance(record, Mapping):
        found.append("the post record is missing")
        record = {}
    text = record.get("text")
    if not isinstance(text, str):
        found.append("the post has no text")
        text = ""
    length = count_graphemes(text[: MAX_KEPT_CHARS + 1])
    if length > MAX_GRAPHEMES or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        found.append(f"the text is longer than Bluesky allows ({length} graphemes)")
    if len(text) > MAX_KEPT_CHARS:
        found.append(f"the text was cut to {MAX_KEPT_CHARS} characters")
        text = text[:MAX_KEPT_CHARS]
    created_at = _parse_time(record.get("createdAt"))
    if created_at is None:
        found.append("the post has no valid createdAt; the time it was indexed is used")
        created_at = fallback_time or datetime.now(UTC)
    reply = _dict(record.get("reply"))
    parent = _dict(reply.get("parent"))
    root = _dict(reply.get("root"))
    parent_uri = _str(parent.get("uri"))
    root_uri = _str(root.get("uri"))
    root_cid = _str(root.get("cid"))
    if reply and not (parent_uri and root_uri and root_cid):
        found.append("the reply reference is incomplete")
    if not cid:
        found.append("the post has no cid; replying to it needs a lookup")
    reply_ref = {
        key: value
        for key, value in {
            "cid": cid,
            "root_uri": root_uri or uri,
            "root_cid": root_cid if root_uri else cid,
        }.items()
        if value
    }
    return IncomingMention(
        platform="bluesky",
        external_id=uri,
        author=author,
        text=text,
        created_at=created_at,
        kind=kind,
        in_reply_to_external_id=parent_uri,
        thread_root_external_id=root_uri or uri,
        url=post_url(author.handle, uri),
        reply_ref=reply_ref,
        raw=_json_safe(raw),
        problems=tuple(found),
    )


def mention_from_notification(notification: Any) -> IncomingMention | None:
    """Normalise one listNotifications item; None for reasons that aren't words addressed to us."""
    if not isinstance(notification, Mapping):
        return None
    uri = _str(notification.get("uri"))
    if not uri or not _split_uri(uri):
        log.warning("bluesky: skipping a notification without a post URI: %.200r", notification)
        return None
    problems: list[str] = []
    reason = notification.get("reason")
    if reason in IGNORED_REASONS:
        return None
    kind: Kind
    if reason == "mention":
        kind = "mention"
    elif reason == "reply":
        kind = "reply"
    elif reason == "quote":
        kind = "quote"
    else:
        kind = "mention"
        problems.append(f"unknown notification reason {reason!r}")
    raw_author = _dict(notification.get("author"))
    did = _str(raw_author.get("did")) or (_split_uri(uri) or ("",))[0]
    handle = _str(raw_author.get("handle"))
    if not handle or handle == "handle.invalid":
        problems.append("the author's handle is missing or invalid")
        handle = did
    author = Author(
        platform_id=did,
        handle=handle,
        display_name=_str(raw_author.get("displayName")) or "",
        verified=_dict(raw_author.get("verification")).get("verifiedStatus") == "valid",
    )
    return mention_from_post(
        uri=uri,
        cid=_str(notification.get("cid")),
        author=author,
        record=notification.get("record"),
        kind=kind,
        raw=notification,
        fallback_time=_parse_time(notification.get("indexedAt")),
        problems=problems,
    )


# --- the cursor ---------------------------------------------------------------------------------


@dataclass
class _Mark:
    """Our high-water mark over notifications, serialised as the opaque cursor."""

    indexed_at: datetime | None = None
    uri: str | None = None
    #: uri -> indexedAt of what was already handed out within the look-back window
    seen: dict[str, datetime] | None = None

    @classmethod
    def parse(cls, cursor: str | None) -> _Mark:
        if not cursor:
            return cls(seen={})
        try:
            data = json.loads(cursor)
            indexed_at = _parse_time(data["indexed_at"])
            seen = {
                uri: when
                for when_text, uri in data.get("seen", [])
                if (when := _parse_time(when_text)) is not None and isinstance(uri, str)
            }
            if indexed_at is None:
                raise ValueError("no indexed_at")
            return cls(indexed_at, _str(data.get("uri")), seen)
        except (ValueError, KeyError, TypeError) as exc:
            # A cursor we can't read means starting over; the hub's unique key absorbs repeats.
            log.warning("bluesky: ignoring an unreadable cursor (%s): %.200r", exc, cursor)
            return cls(seen={})

    def dump(self, window: timedelta, keep: int) -> str | None:
        if self.indexed_at is None:
            return None
        edge = self.indexed_at - window
        recent = sorted(
            ((when, uri) for uri, when in (self.seen or {}).items() if when >= edge), reverse=True
        )[:keep]
        return json.dumps(
            {
                "v": 1,
                "indexed_at": _iso(self.indexed_at),
                "uri": self.uri,
                "seen": [[_iso(when), uri] for when, uri in recent],
            },
            separators=(",", ":"),
        )


# --- the connector ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadPost:
    """Platform-only extra: one post of a thread, for context next to a mention."""

    external_id: str
    author: Author
    text: str
    created_at: datetime | None
    in_reply_to_external_id: str | None
    depth: int  #: 0 for the post asked about, negative for its ancestors, positive for replies
    url: str = ""


@register("bluesky")
class BlueskyConnector(Connector, StreamingConnector):
    """One Bluesky account (handle + app password) on its PDS."""

    platform = "bluesky"
    limits = Limits(MAX_GRAPHEMES, "graphemes", "Bluesky")
    address_settings = {"service": "https", "firehose": "wss"}

    @classmethod
    def configuration_schema(cls) -> dict[str, dict[str, Any]]:
        """Fields an admin fills in to connect a Bluesky account."""
        return {
            "handle": {"label": "Handle", "example": "ourbrand.bsky.social"},
            "service": {"label": "PDS address", "default": DEFAULT_SERVICE},
            "app_password": {"label": "App password", "secret": True},
        }

    def __init__(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
        on_state_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.handle = str(config.get("handle") or "").strip().lstrip("@").lower()
        self.service = str(config.get("service") or DEFAULT_SERVICE).rstrip("/")
        self.firehose = str(config.get("firehose") or _default_firehose(self.service))
        self.timeout = float(config.get("timeout", 10.0))
        #: every connection (the PDS, the endpoint it names, redirects, the firehose) is checked
        self._addresses = AddressPolicy.from_config(config)
        #: how far below the high-water mark each fetch looks again (see the module docstring)
        self.lookback = timedelta(seconds=float(config.get("lookback_seconds", 600)))
        #: pages of 100 read on the very first fetch, when there is no cursor yet
        self.first_fetch_pages = int(config.get("first_fetch_pages", 3))
        #: a saved firehose position older than this is dropped (start live, let the poll catch up)
        self.firehose_resume = timedelta(seconds=float(config.get("firehose_resume_seconds", 300)))
        #: how often the firehose position is handed to the hub for saving while streaming
        self.firehose_save_every = float(config.get("firehose_save_seconds", 30))
        self._password = str(secrets.get("app_password") or "")
        self._state: dict[str, Any] = dict(state or {})
        self._on_state_change = on_state_change
        self._client: Client | None = None
        self._did: str | None = None
        self._from_saved_session = False
        self._last_headers: Mapping[str, str] = {}
        self._authors: dict[str, Author] = {}
        self._lock = threading.RLock()

    # --- session ------------------------------------------------------------------------------

    def _new_client(self) -> Client:
        request = Request(
            timeout=self.timeout,
            event_hooks={"response": [self._remember_headers]},
            transport=GuardedTransport(self._addresses, "PDS address"),
            trust_env=False,
        )
        client = Client(base_url=self.service, request=request)
        client.on_session_change(self._session_changed)
        return client

    def _remember_headers(self, response: httpx.Response) -> None:
        if "ratelimit-remaining" in response.headers:
            self._last_headers = dict(response.headers)

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        if event is SessionEvent.IMPORT:
            return  # nothing new to save
        self._state["session"] = session.export()
        if self._on_state_change is not None:
            self._on_state_change(dict(self._state))

    def _connected(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = self._resume() or self._sign_in()
            return self._client

    def _resume(self) -> Client | None:
        """Import the saved session string; no request is made (createSession is not called)."""
        saved = self._state.get("session")
        if not isinstance(saved, str) or not saved:
            return None
        # No comparison with the configured handle: handles can be renamed, and discarding the
        # session would spend createSession on every restart. The hub clears the state when an
        # account's credentials change.
        try:
            session = Session.decode(saved)
            client = self._new_client()
            client.login(session_string=saved, fetch_bsky_profile=False)
        except (ValueError, AtProtocolError) as exc:
            log.warning("bluesky: the saved session for @%s is unreadable: %s", self.handle, exc)
            return None
        self._did = session.did
        self._from_saved_session = True
        return client

    def _sign_in(self) -> Client:
        """createSession with the app password (rate-limited: 30 / 5 min, 300 / day)."""
        if not self.handle or not self._password:
            raise AuthExpired(
                "The Bluesky account has no handle or app password stored. "
                "Enter them again in the account settings."
            )
        client = self._new_client()
        try:
            client.login(self.handle, self._password, fetch_bsky_profile=False)
        except Exception as exc:
            client.request.close()
            if not isinstance(exc, UnauthorizedError):
                raise _translate(exc, "sign in to Bluesky") from exc
            if _error_name(exc) == "AccountTakedown":
                raise AuthExpired(f"Bluesky has taken down the account @{self.handle}.") from exc
            raise AuthExpired(
                f"Bluesky did not accept the handle @{self.handle} with the stored app password. "
                "Create a new app password in Bluesky (Settings > App passwords) and enter it "
                "here."
            ) from exc
        self._did = Session.decode(client.export_session_string()).did
        self._from_saved_session = False
        return client

    def _call(self, action: str, fn: Callable[[Client], T]) -> T:
        """Run ``fn`` with a signed-in client, translating every failure into our errors.

        A saved session the server no longer accepts (revoked, or the refresh token expired)
        gets one fresh sign-in with the app password, then the call is tried once more.
        """
        with self._lock:
            client = self._connected()
            from_saved = self._from_saved_session
        try:
            return fn(client)
        except ConnectorError:
            raise
        except Exception as exc:
            if not (from_saved and _is_dead_session(exc)):
                raise _translate(exc, action) from exc
            log.info(
                "bluesky: the saved session for @%s is no longer valid; signing in", self.handle
            )
        with self._lock:
            if self._client is client:  # not already replaced by another thread
                self.close()
                self._state.pop("session", None)
                self._client = self._sign_in()
            client = self._connected()
        try:
            return fn(client)
        except ConnectorError:
            raise
        except Exception as exc:
            raise _translate(exc, action) from exc

    def close(self) -> None:
        """Close the HTTP connections; the session stays in the saved state for next time."""
        with self._lock:
            if self._client is not None:
                self._client.request.close()
                self._client = None

    @property
    def did(self) -> str:
        """The account's DID (signs in or imports the session if needed)."""
        self._connected()
        assert self._did is not None
        return self._did

    @property
    def rate_budget(self) -> RateBudget | None:
        """What the last response's ratelimit-* headers said, if it had any."""
        return _budget(self._last_headers)

    # --- the interface ------------------------------------------------------------------------

    def verify(self) -> str:
        """Ask the PDS who the session belongs to; return the handle."""
        session = self._call(
            "check the Bluesky session", lambda c: c.com.atproto.server.get_session()
        )
        self.handle = session.handle
        return session.handle

    def fetch_mentions(self, cursor: str | None) -> Batch:
        """Mentions, replies and quotes since ``cursor`` (our own high-water mark), oldest first."""
        mark = _Mark.parse(cursor)
        edge = mark.indexed_at - self.lookback if mark.indexed_at else None
        seen = dict(mark.seen or {})
        fresh: dict[str, tuple[datetime, dict[str, Any]]] = {}
        api_cursor: str | None = None
        pages = 0
        now = datetime.now(UTC)
        while True:
            body = self._list_notifications(api_cursor)
            items = body.get("notifications")
            reached_edge = False
            for item in items if isinstance(items, list) else ():
                item = _dict(item)
                uri = _str(item.get("uri"))
                indexed = _parse_time(item.get("indexedAt")) or mark.indexed_at or now
                if edge is not None and indexed < edge:
                    reached_edge = True
                    continue
                if not uri or uri in seen or uri in fresh:
                    continue
                fresh[uri] = (indexed, item)
            pages += 1
            next_cursor = _str(body.get("cursor"))
            if reached_edge or not next_cursor or next_cursor == api_cursor:
                break
            if mark.indexed_at is None and pages >= self.first_fetch_pages:
                break
            api_cursor = next_cursor

        ordered = sorted(fresh.items(), key=lambda kv: (kv[1][0], kv[0]))
        mentions = [
            mention
            for _, (_, item) in ordered
            if (mention := mention_from_notification(item)) is not None
        ]
        for uri, (indexed, _) in ordered:
            seen[uri] = indexed
            if mark.indexed_at is None or (indexed, uri) > (mark.indexed_at, mark.uri or ""):
                mark.indexed_at, mark.uri = indexed, uri
        mark.seen = seen
        return Batch(
            mentions=mentions,
            cursor=mark.dump(self.lookback, keep=1000) or cursor,
            rate_limit=self.rate_budget,
        )

    def _list_notifications(self, api_cursor: str | None) -> dict[str, Any]:
        params = models.AppBskyNotificationListNotifications.Params(
            limit=100, cursor=api_cursor, reasons=list(MENTION_REASONS)
        )
        # The raw JSON rather than the SDK's models: one odd record must not fail the page.
        response = self._call(
            "read Bluesky notifications",
            lambda c: c.invoke_query("app.bsky.notification.listNotifications", params=params),
        )
        return _dict(response.content)

    def publish(self, request: PostRequest) -> Published:
        """Post, or reply with root and parent strong refs; mentions and links become facets."""
        text = request.text
        if not text.strip():
            raise Rejected("The post is empty.")
        length = count_graphemes(text)
        if length > MAX_GRAPHEMES:
            raise Rejected(f"The post is {length} characters long; Bluesky allows {MAX_GRAPHEMES}.")
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise Rejected(f"The post is too large for Bluesky (over {MAX_TEXT_BYTES} bytes).")
        reply = self._reply_ref(request.reply_to) if request.reply_to else None
        did = self.did
        facets = self._call("look up the handles mentioned", lambda c: c.detect_facets(text))

        def create(c: Client) -> models.AppBskyFeedPost.CreateRecordResponse:
            record = models.AppBskyFeedPost.Record(
                text=text,
                created_at=c.get_current_time_iso(),
                reply=reply,
                facets=facets or None,
            )
            return c.app.bsky.feed.post.create(did, record)

        created = self._call("publish on Bluesky", create)
        return Published(external_id=created.uri, url=post_url(self.handle, created.uri))

    def _reply_ref(self, target: ReplyTarget) -> models.AppBskyFeedPost.ReplyRef:
        """Strong refs for a reply; reading the parent also tells us it still exists."""
        parent_uri = target.external_id
        parts = _split_uri(parent_uri)
        if not parts or parts[1] != POST_COLLECTION:
            raise Rejected(f"{parent_uri!r} is not a Bluesky post, so it can't be replied to.")
        parent = self._get_record(parent_uri)
        if parent is None:
            raise Rejected(DELETED_PARENT)
        parent_cid = _str(parent.get("cid")) or target.extras.get("cid")
        if not parent_cid:
            raise Transient("Bluesky did not say which version of the post to reply to.")
        root = _dict(_dict(_dict(parent.get("value")).get("reply")).get("root"))
        root_uri = _str(root.get("uri")) or target.extras.get("root_uri") or parent_uri
        root_cid = _str(root.get("cid")) or target.extras.get("root_cid")
        if root_uri == parent_uri:
            root_cid = parent_cid
        if not root_cid:
            raise Transient("Bluesky did not say which thread the post belongs to.")
        strong = models.ComAtprotoRepoStrongRef.Main
        return models.AppBskyFeedPost.ReplyRef(
            root=strong(uri=root_uri, cid=root_cid), parent=strong(uri=parent_uri, cid=parent_cid)
        )

    def _get_record(self, uri: str) -> dict[str, Any] | None:
        """A post record by URI from the PDS (which asks the AppView for other repos), or None."""
        repo, collection, rkey = _split_uri(uri) or ("", "", "")
        params = models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=collection, rkey=rkey)

        def get(c: Client) -> dict[str, Any] | None:
            try:
                return _dict(c.invoke_query("com.atproto.repo.getRecord", params=params).content)
            except (BadRequestError, RequestException) as exc:
                if (
                    _error_name(exc) == "RecordNotFound"
                    or "could not locate record" in str(exc).lower()
                ):
                    return None
                raise

        return self._call("read the post being replied to", get)

    def find_published(self, request: PostRequest) -> Published | None:
        """Our newest posts straight from the repo (no AppView lag) matching text and parent."""
        did = self.did
        params = models.ComAtprotoRepoListRecords.Params(
            repo=did, collection=POST_COLLECTION, limit=50
        )
        body = self._call(
            "list our recent Bluesky posts",
            lambda c: _dict(c.invoke_query("com.atproto.repo.listRecords", params=params).content),
        )
        parent = request.reply_to.external_id if request.reply_to else None
        for item in body.get("records") or ():
            item = _dict(item)
            value = _dict(item.get("value"))
            their_parent = _str(_dict(_dict(value.get("reply")).get("parent")).get("uri"))
            uri = _str(item.get("uri"))
            if uri and value.get("text") == request.text and their_parent == parent:
                return Published(external_id=uri, url=post_url(self.handle, uri))
        return None

    # --- platform-only extras -----------------------------------------------------------------

    def fetch_thread(self, uri: str, depth: int = 6, parent_height: int = 20) -> list[ThreadPost]:
        """Platform-only extra: the thread around ``uri`` (ancestors, the post, replies)."""
        params = models.AppBskyFeedGetPostThread.Params(
            uri=uri, depth=depth, parent_height=parent_height
        )
        body = self._call(
            "read the Bluesky thread",
            lambda c: _dict(c.invoke_query("app.bsky.feed.getPostThread", params=params).content),
        )
        posts: list[ThreadPost] = []
        node = _dict(body.get("thread"))
        ancestors: list[dict[str, Any]] = []
        parent = _dict(node.get("parent"))
        while parent:
            ancestors.append(parent)
            parent = _dict(parent.get("parent"))
        for level, ancestor in zip(range(-len(ancestors), 0), reversed(ancestors), strict=True):
            posts.extend(_thread_posts(ancestor, level, descend=False))
        posts.extend(_thread_posts(node, 0, descend=True))
        return posts

    def stream_mentions(
        self,
        on_mention: Callable[[IncomingMention], None],
        stop_event: threading.Event,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        """Push mentions from the firehose as they are committed (``StreamingConnector``).

        ``on_connect`` is called once the websocket handshake is done. The stream resumes from
        the saved sequence number when it is recent (see ``firehose_resume_seconds``); each
        message's number is recorded only after ``on_mention`` returned for it, so a mention
        whose handling failed is sent again on the next connection.

        Returns when ``stop_event`` is set; raises ``Transient`` when the connection drops or
        can't be made (poll instead), and re-raises whatever ``on_mention`` raised.
        """
        did = self.did
        stream = _OneShotFirehose(
            self.firehose,
            self._addresses,
            self.timeout,
            cursor=self._resume_seq(),
            on_connect=on_connect,
        )
        failure: list[BaseException] = []
        saved_at = [time.monotonic()]

        def on_message(frame: Any) -> None:
            try:
                message = parse_subscribe_repos_message(frame)
            except Exception as exc:  # one odd frame costs that frame, not the stream
                log.warning("bluesky: skipping an undecodable firehose frame: %s", exc)
                return
            if isinstance(message, models.ComAtprotoSyncSubscribeRepos.Commit):
                for mention in self._mentions_in_commit(message, did):
                    on_mention(mention)  # its errors end the stream and reach our caller
            seq = getattr(message, "seq", None)
            if isinstance(seq, int):
                self._remember_seq(seq)
                if time.monotonic() - saved_at[0] >= self.firehose_save_every:
                    saved_at[0] = time.monotonic()
                    self._save_state()

        def on_callback_error(exc: BaseException) -> None:
            failure.append(exc)
            stream.stop()

        finished = threading.Event()

        def watch_stop() -> None:
            while not finished.is_set():
                if stop_event.wait(0.1):
                    stream.stop()
                    return

        watcher = threading.Thread(target=watch_stop, name="bluesky-firehose-stop", daemon=True)
        watcher.start()
        try:
            stream.start(on_message, on_callback_error)
        finally:
            finished.set()
            watcher.join()
            self._save_state()
        if failure:
            raise failure[0]
        if stream.refused is not None:
            raise stream.refused
        if not stop_event.is_set():
            raise Transient(f"The Bluesky firehose disconnected: {stream.disconnect_reason}")

    @property
    def firehose_seq(self) -> int | None:
        """The sequence number of the last firehose message handled, if any."""
        with self._lock:
            saved = _dict(self._state.get("firehose"))
        seq = saved.get("seq")
        return seq if isinstance(seq, int) else None

    def _remember_seq(self, seq: int) -> None:
        with self._lock:
            self._state["firehose"] = {
                "service": self.firehose,
                "seq": seq,
                "at": _iso(datetime.now(UTC)),
            }

    def _resume_seq(self) -> int | None:
        """The saved position, if it is for this firehose and recent enough to replay from."""
        with self._lock:
            saved = _dict(self._state.get("firehose"))
        seq, at = saved.get("seq"), _parse_time(saved.get("at"))
        if saved.get("service") != self.firehose or not isinstance(seq, int) or at is None:
            return None
        if datetime.now(UTC) - at > self.firehose_resume:
            return None
        return seq

    def _save_state(self) -> None:
        with self._lock:
            state = dict(self._state)
        if self._on_state_change is not None and "firehose" in state:
            self._on_state_change(state)

    def _mentions_in_commit(
        self, commit: models.ComAtprotoSyncSubscribeRepos.Commit, did: str
    ) -> list[IncomingMention]:
        if commit.repo == did:
            return []  # our own posts
        creates = [
            op
            for op in commit.ops
            if op.action == "create" and op.cid and op.path.startswith(POST_COLLECTION + "/")
        ]
        if not creates:
            return []
        try:
            blocks = CAR.from_bytes(commit.blocks).blocks  # type: ignore[arg-type]
        except Exception as exc:  # a broken CAR costs this commit, not the stream
            log.warning("bluesky: undecodable commit %s from %s: %s", commit.seq, commit.repo, exc)
            return []
        found = []
        for op in creates:
            record = blocks.get(op.cid)  # type: ignore[call-overload]
            if not isinstance(record, Mapping):
                continue
            kind = addressed_kind(record, did)
            if kind is None:
                continue
            uri = f"at://{commit.repo}/{op.path}"
            author, problems = self._author(commit.repo)
            raw = {
                "repo": commit.repo,
                "seq": commit.seq,
                "time": commit.time,
                "path": op.path,
                "cid": str(op.cid),
                "record": record,
            }
            found.append(
                mention_from_post(
                    uri=uri,
                    cid=str(op.cid),
                    author=author,
                    record=record,
                    kind=kind,
                    raw=raw,
                    fallback_time=_parse_time(commit.time),
                    problems=problems,
                )
            )
        return found

    def _author(self, did: str) -> tuple[Author, tuple[str, ...]]:
        """The author's handle and name for a firehose post (the firehose only carries the DID)."""
        cached = self._authors.get(did)
        if cached is not None:
            return cached, ()
        params = models.AppBskyActorGetProfile.Params(actor=did)
        try:
            profile = _dict(
                self._call(
                    "look up the author",
                    lambda c: c.invoke_query("app.bsky.actor.getProfile", params=params),
                ).content
            )
        except ConnectorError as exc:
            return Author(platform_id=did, handle=did), (f"the author's handle is unknown: {exc}",)
        author = Author(
            platform_id=did,
            handle=_str(profile.get("handle")) or did,
            display_name=_str(profile.get("displayName")) or "",
            followers=profile.get("followersCount")
            if isinstance(profile.get("followersCount"), int)
            else None,
        )
        self._authors[did] = author
        return author, ()


# --- module internals ---------------------------------------------------------------------------


class _OneShotFirehose(FirehoseSubscribeReposClient):
    """The SDK's firehose client, minus its endless reconnecting: the hub polls instead."""

    def __init__(
        self,
        base_uri: str,
        addresses: AddressPolicy,
        timeout: float,
        cursor: int | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        params = {"cursor": cursor} if cursor is not None else None
        # No receive timeout: a quiet PDS is not a dead one (websocket pings notice those).
        super().__init__(base_uri=base_uri, params=params, recv_timeout=None)
        self.disconnect_reason = "the connection closed"
        #: set when the firehose address was refused (raised as is, not as a disconnect)
        self.refused: ConnectorError | None = None
        self._addresses = addresses
        self._timeout = timeout
        self._on_connect = on_connect

    def _get_client(self) -> Any:
        # The socket is opened to an address the policy just checked; websockets does the TLS
        # (verified against the host name) and the handshake on it.
        uri = self._websocket_uri
        try:
            sock = self._addresses.open_socket(uri, "wss", "firehose address", self._timeout)
        except (UnsafeAddress, Transient) as exc:
            self.refused = exc
            raise
        try:
            client = connect(uri, sock=sock, **self._get_connect_kwargs())
        except BaseException:
            sock.close()
            raise
        # The SDK has no "connected" callback; the handshake is done when connect() returns.
        if self._on_connect is not None:
            self._on_connect()
        return client

    def _handle_websocket_error_or_stop(self, exception: Exception) -> bool:
        self.disconnect_reason = _disconnect_reason(exception)
        return True  # stop; never reconnect here


def _disconnect_reason(exc: Exception) -> str:
    """Why a stream ended, in our words: never the text the server sent with it."""
    if isinstance(exc, InvalidStatus):
        return f"the server answered HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        return f"the server closed the stream (code {code})" if code else "the connection dropped"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _default_firehose(service: str) -> str:
    if service.rstrip("/") == DEFAULT_SERVICE:
        return DEFAULT_FIREHOSE
    parts = urlsplit(service)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/xrpc", "", ""))


def _thread_posts(node: dict[str, Any], depth: int, *, descend: bool) -> list[ThreadPost]:
    post = _dict(node.get("post"))
    if not post:
        return []  # notFound / blocked placeholders
    record = _dict(post.get("record"))
    author = _dict(post.get("author"))
    uri = _str(post.get("uri")) or ""
    handle = _str(author.get("handle")) or _str(author.get("did")) or ""
    posts = [
        ThreadPost(
            external_id=uri,
            author=Author(
                platform_id=_str(author.get("did")) or "",
                handle=handle,
                display_name=_str(author.get("displayName")) or "",
            ),
            text=_str(record.get("text")) or "",
            created_at=_parse_time(record.get("createdAt")),
            in_reply_to_external_id=_str(
                _dict(_dict(record.get("reply")).get("parent")).get("uri")
            ),
            depth=depth,
            url=post_url(handle, uri),
        )
    ]
    if descend:
        for reply in node.get("replies") or ():
            posts.extend(_thread_posts(_dict(reply), depth + 1, descend=True))
    return posts


def _error_name(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    if isinstance(content, XrpcError):
        return content.error
    return None


def _is_dead_session(exc: BaseException) -> bool:
    if isinstance(exc, LoginRequiredError):
        return True
    if isinstance(exc, UnauthorizedError):
        return _error_name(exc) != "AccountTakedown"
    if isinstance(exc, BadRequestError):
        return _error_name(exc) in AUTH_ERRORS
    return False


def _budget(headers: Mapping[str, str]) -> RateBudget | None:
    def number(name: str) -> int | None:
        try:
            return int(headers[name])
        except (KeyError, ValueError):
            return None

    limit, remaining, reset = (
        number("ratelimit-limit"),
        number("ratelimit-remaining"),
        number("ratelimit-reset"),
    )
    if limit is None and remaining is None and reset is None:
        return None
    return RateBudget(
        limit=limit,
        remaining=remaining,
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
    )


def _translate(exc: BaseException, action: str) -> ConnectorError:
    """Map an SDK or transport failure onto the hub's error types, with a plain message.

    Messages are our own words plus the HTTP status: never the text the server sent, which
    reaches people's pages (the PDS address is typed by a person; its answers are not ours).
    The server's own words go to the log.
    """
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, RateLimitExceededError):
        reset_at = exc.reset_at
        when = f" until {reset_at:%H:%M} UTC" if reset_at else ""
        return RateLimited(f"Bluesky is rate limiting us{when}; could not {action}.", reset_at)
    if isinstance(exc, InvokeTimeoutError | httpx.TimeoutException):
        return Transient(f"Bluesky did not answer in time; could not {action}.")
    if isinstance(exc, LoginRequiredError):
        return AuthExpired("The Bluesky session is gone; sign in to the account again.")
    if isinstance(exc, RequestErrorBase):
        if exc.response is None:  # a transport failure, wrapped by the SDK
            cause = exc.__cause__
            reason = type(cause).__name__ if cause is not None else "no answer"
            return Transient(f"Could not reach Bluesky to {action} ({reason}).")
        status = exc.response.status_code
        name = _error_name(exc)
        log.info("bluesky: could not %s: %s", action, _clip(str(exc)))
        if isinstance(exc, UnauthorizedError) or name in AUTH_ERRORS:
            return AuthExpired(
                "Bluesky no longer accepts this account's session or app password "
                f"(HTTP {status}); sign in to the account again."
            )
        if isinstance(exc, NetworkError) and status != 413:
            return Transient(f"Could not reach Bluesky to {action} (HTTP {status}).")
        if status >= 500:
            return Transient(f"Bluesky had a server error ({status}); could not {action}.")
        if name == "RecordNotFound":
            return Rejected(f"Bluesky could not find the post; could not {action}.")
        return Rejected(f"Bluesky refused to {action} (HTTP {status}).")
    if isinstance(exc, httpx.TransportError):
        return Transient(f"Could not reach Bluesky to {action} ({type(exc).__name__}).")
    if isinstance(exc, AtProtocolError):
        log.info("bluesky: unreadable answer while trying to %s: %s", action, _clip(str(exc)))
        return Transient(
            f"Bluesky sent an answer we could not read; could not {action} ({type(exc).__name__})."
        )
    raise exc


def _clip(text: str, limit: int = 300) -> str:
    """A server's words for the log: one line, bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
