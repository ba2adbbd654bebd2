"""X (Twitter) connector: API v2 through ``tweepy.Client``.

Three choices shape this module:

- tweepy runs with ``return_type=requests.Response``. Its own ``Response`` namedtuple drops the
  HTTP headers, and X reports the request budget only there (``x-rate-limit-*``). Taking the raw
  response keeps the headers next to the payload they came with (no shared "last response"
  state, no session hook), and we parse the JSON ourselves, which we want anyway: tweepy's
  ``Tweet``/``User`` constructors raise on a payload missing ``id`` or ``text``, and a connector
  must keep an odd mention (flagged in ``problems``) rather than crash on it.
- tweepy never passes a timeout and hard-codes ``https://api.twitter.com``. ``_XSession`` sits
  under tweepy and adds both: every call gets a timeout, and ``api_base`` (tests) is honoured.
- tweepy's ``wait_on_rate_limit`` sleeps, or loops without end on a 429 without a reset header.
  We never turn it on: a 429 becomes ``RateLimited(reset_at)`` and the scheduler decides.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
import tweepy
from twitter_text import parse_tweet

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
    Transient,
    clean_payload,
    clean_text,
    register,
)
from connectors.outbound import AddressPolicy

log = logging.getLogger(__name__)

#: where tweepy sends every request; ``api_base`` replaces it (tests point it at 127.0.0.1)
TWEEPY_HOST = "https://api.twitter.com"
DEFAULT_TIMEOUT = 20.0  #: seconds, for connecting and for each read
DEFAULT_MAX_PAGES = 5  #: mention pages per fetch; the cursor remembers where we stopped
PAGE_SIZE = 100  #: the mentions timeline's maximum
OWN_TWEETS_LOOKBACK = 20  #: own posts searched by find_published
#: X's longest post (Premium long posts); anything longer is not a real post and is cut
MAX_TEXT_CHARS = 25_000
#: X ids are snowflakes: milliseconds since this epoch, shifted left 22 bits
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657

MENTION_EXPANSIONS = ["author_id", "referenced_tweets.id"]
MENTION_TWEET_FIELDS = [
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "author_id",
    "lang",
    # the full text of posts longer than 280: ``text`` holds only the start of them
    "note_tweet",
]
MENTION_USER_FIELDS = ["username", "name", "public_metrics", "verified"]
OWN_TWEET_FIELDS = ["created_at", "referenced_tweets", "note_tweet"]

USER_SECRETS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")

# X's words for a post refused for good, whatever the status code (400 or 403)
_REFUSALS: tuple[tuple[str, str], ...] = (
    (
        "deleted or not visible",
        "the post you are replying to was deleted or is not visible to this account",
    ),
    ("duplicate content", "X refused a duplicate: this account already posted the same text"),
    ("is a duplicate", "X refused a duplicate: this account already posted the same text"),
    ("restricted who can reply", "the author of that post limited who can reply to it"),
    ("reply to this conversation is not allowed", "the author limited who can reply to that post"),
    ("too long", "the text is longer than X allows for this account"),
)


def x_weighted_length(text: str) -> int:
    """Length of ``text`` as X counts it (twitter-text weights: URLs 23, CJK and emoji 2)."""
    # twitter-text encodes to UTF-16 and raises on lone surrogates; X would reject them anyway
    return int(parse_tweet(clean_text(text)).weightedLength)


# --- plumbing under tweepy ------------------------------------------------------------------


class _XSession(requests.Session):
    """The session tweepy uses: adds a timeout to every request and honours ``api_base``.

    Every request other than to X's own API (a custom ``api_base``, a redirect) is checked by
    the address policy first, so credentials never go to this machine or a private network.
    """

    def __init__(self, api_base: str, timeout: float, addresses: AddressPolicy) -> None:
        super().__init__()
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.addresses = addresses

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Check where the request goes (redirects come through here too), then send it."""
        url = request.url or ""
        if not url.startswith(TWEEPY_HOST + "/"):
            self.addresses.check_url(url, "https", "API base URL")
        return super().send(request, **kwargs)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send through requests with our host and a timeout tweepy doesn't pass."""
        if url.startswith(TWEEPY_HOST + "/"):
            url = self.api_base + url[len(TWEEPY_HOST) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (self.timeout, self.timeout)
        return super().request(method, url, *args, **kwargs)


class _SecretRedactor(logging.Filter):
    """Blanks credentials out of the debug logs of tweepy and the OAuth libraries.

    tweepy logs request headers (the bearer token) at DEBUG, requests-oauthlib the signed
    ``Authorization`` header, oauthlib the signature base string (consumer key, access token).
    """

    LOGGERS = ("tweepy.client", "requests_oauthlib.oauth1_auth", "oauthlib.oauth1.rfc5849")
    _BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+")

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        #: longest first, so a secret containing another is blanked whole; replaced, never mutated
        self._ordered: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def protect(self, values: Iterable[str]) -> None:
        """Redact these values (and their URL-encoded forms) from now on; install if needed."""
        with self._lock:
            for value in values:
                if len(value) >= 6:  # shorter "secrets" would blank ordinary words
                    encoded = quote(value, safe="")
                    # oauthlib's signature base string encodes each value twice
                    self._secrets.update({value, encoded, quote(encoded, safe="")})
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))
            for name in self.LOGGERS:
                logger = logging.getLogger(name)
                if self not in logger.filters:
                    logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without secrets; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        cleaned = self._BEARER.sub(r"\1[redacted]", message)
        for secret in self._ordered:
            cleaned = cleaned.replace(secret, "[redacted]")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTOR = _SecretRedactor()


@dataclass(frozen=True)
class _Cursor:
    """Where the mentions timeline was left.

    Stored as a plain tweet id (everything up to it fetched) or, when a fetch stopped before the
    end, as ``newest=N;until=U;since=S``: tweets between S and U are still to fetch, and once
    they are the cursor becomes N. A stop never moves the cursor past a tweet not yet fetched.
    """

    since_id: str | None = None
    until_id: str | None = None
    newest_id: str | None = None

    @classmethod
    def parse(cls, cursor: str | None) -> _Cursor:
        """Read a stored cursor (None: never fetched)."""
        if not cursor:
            return cls()
        if cursor.isdigit():
            return cls(since_id=cursor)
        try:
            parts = dict(part.split("=", 1) for part in cursor.split(";"))
        except ValueError:
            parts = {}
        since, until, newest = parts.get("since", ""), parts.get("until"), parts.get("newest")
        if (
            until is None
            or newest is None
            or not until.isdigit()
            or not newest.isdigit()
            or (since and not since.isdigit())
        ):
            raise ValueError(f"not an X mentions cursor: {cursor!r}")
        return cls(since_id=since or None, until_id=until, newest_id=newest)

    def dump(self) -> str | None:
        """The string to store."""
        if self.until_id is None:
            return self.since_id
        return f"newest={self.newest_id};until={self.until_id};since={self.since_id or ''}"


# --- the connector --------------------------------------------------------------------------


@register("x")
class XConnector(Connector):
    """One X account: reads its mentions timeline and posts as it (API v2, OAuth 1.0a)."""

    platform = "x"
    limits = Limits(280, "x_weighted", "X")
    address_settings = {"api_base": "https"}

    @classmethod
    def configuration_schema(cls) -> dict[str, dict[str, Any]]:
        """Fields an admin fills in to connect an X account; credentials are marked secret."""
        return {
            "handle": {"type": "string", "title": "Handle (without @)", "required": True},
            "user_id": {
                "type": "string",
                "title": "Numeric user id (optional: looked up from the access token)",
                "required": False,
            },
            "api_base": {
                "type": "string",
                "title": "API base URL (tests only)",
                "required": False,
                "default": TWEEPY_HOST,
            },
            "bearer_token": {
                "type": "string",
                "title": "Bearer token (optional: reads use the app's own rate budget)",
                "secret": True,
                "required": False,
            },
            "consumer_key": {
                "type": "string",
                "title": "API key (consumer key)",
                "secret": True,
                "required": True,
            },
            "consumer_secret": {
                "type": "string",
                "title": "API key secret (consumer secret)",
                "secret": True,
                "required": True,
            },
            "access_token": {
                "type": "string",
                "title": "Access token of the account",
                "secret": True,
                "required": True,
            },
            "access_token_secret": {
                "type": "string",
                "title": "Access token secret of the account",
                "secret": True,
                "required": True,
            },
        }

    def __init__(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        state: str | None = None,
        on_state_change: Callable[[str], None] | None = None,
    ) -> None:
        self.handle = str(config.get("handle") or "").lstrip("@")
        self.max_pages = max(1, int(config.get("max_pages") or DEFAULT_MAX_PAGES))
        self.timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self._secrets = {k: str(v) for k, v in secrets.items() if v}
        _REDACTOR.protect(self._secrets.values())
        # the user id is what the hub persists for us: get_me is limited to 75 calls / 15 min
        self._user_id = str(config.get("user_id") or "") or (
            state if isinstance(state, str) and state.isdigit() else None
        )
        self._on_state_change = on_state_change
        #: mentions dropped because they had no id at all (also logged)
        self.dropped_without_id = 0
        self._client = tweepy.Client(
            bearer_token=self._secrets.get("bearer_token"),
            consumer_key=self._secrets.get("consumer_key"),
            consumer_secret=self._secrets.get("consumer_secret"),
            access_token=self._secrets.get("access_token"),
            access_token_secret=self._secrets.get("access_token_secret"),
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )
        self._client.session = _XSession(
            str(config.get("api_base") or TWEEPY_HOST),
            self.timeout,
            AddressPolicy.from_config(config),
        )
        # reads go on the app's budget when there is a bearer token, else on the user's
        self._read_auth = "app" if self._secrets.get("bearer_token") else "user"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.session.close()

    # --- interface ---

    def verify(self) -> str:
        """Ask X who the access token belongs to; return that handle."""
        payload, _ = self._call("checking the account", "user", self._client.get_me)
        data = payload.get("data")
        if not isinstance(data, dict) or not data.get("id") or not data.get("username"):
            raise Transient("X answered the account check without an id and username")
        self._remember_user_id(str(data["id"]))
        username = str(data["username"])
        if self.handle and username.lower() != self.handle.lower():
            log.warning("X access token belongs to @%s, configured as @%s", username, self.handle)
        return username

    def fetch_mentions(self, cursor: str | None) -> Batch:
        """Mentions, replies and quotes since ``cursor``, oldest first; see ``_Cursor``."""
        start = _Cursor.parse(cursor)
        user_id = self._ensure_user_id()
        found: dict[str, IncomingMention] = {}
        budget: RateBudget | None = None
        token: str | None = None
        exhausted = False
        pages = 0
        while pages < self.max_pages:
            params: dict[str, Any] = {
                "max_results": PAGE_SIZE,
                "expansions": MENTION_EXPANSIONS,
                "tweet_fields": MENTION_TWEET_FIELDS,
                "user_fields": MENTION_USER_FIELDS,
            }
            if start.since_id:
                params["since_id"] = start.since_id
            if start.until_id:
                params["until_id"] = start.until_id
            if token:
                params["pagination_token"] = token
            try:
                payload, headers = self._call(
                    "reading mentions",
                    self._read_auth,
                    self._client.get_users_mentions,
                    id=user_id,
                    user_auth=self._read_auth == "user",
                    **params,
                )
            except (RateLimited, Transient) as exc:
                if pages == 0:
                    raise
                # keep what we have; the cursor below stops where the pages stopped
                log.warning("X mentions: stopped after %d page(s): %s", pages, exc)
                if isinstance(exc, RateLimited):
                    budget = RateBudget(budget.limit if budget else None, 0, exc.reset_at)
                break
            pages += 1
            budget = _budget(headers) or budget
            if "data" not in payload and "meta" not in payload and payload.get("errors"):
                raise Rejected("X could not read the mentions: " + _x_message(payload))
            for mention in self._mentions_from_page(payload):
                found.setdefault(mention.external_id, mention)
            meta = payload.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not token or not isinstance(token, str):
                exhausted = True
                break
        mentions = sorted(found.values(), key=_age_key)
        more = not exhausted and pages >= self.max_pages  # not when an error stopped the pages
        return Batch(mentions, _next_cursor(start, found, exhausted), budget, more=more)

    def publish(self, request: PostRequest) -> Published:
        """Post ``request`` (a reply when it has a target); return the new post's id and URL."""
        params: dict[str, Any] = {"text": request.text}
        if request.reply_to is not None:
            params["in_reply_to_tweet_id"] = request.reply_to.external_id
        payload, _ = self._call(
            "publishing", "user", self._client.create_tweet, user_auth=True, **params
        )
        data = payload.get("data")
        tweet_id = data.get("id") if isinstance(data, dict) else None
        if not tweet_id:
            # it may be live: the outbox reconciles with find_published before any retry
            raise Transient("X accepted the post but returned no id; reconcile before retrying")
        return Published(str(tweet_id), self._url(self.handle, str(tweet_id)))

    def find_published(self, request: PostRequest) -> Published | None:
        """Find ``request`` among the account's last posts (same text and reply target)."""
        payload, _ = self._call(
            "looking for a published post",
            self._read_auth,
            self._client.get_users_tweets,
            id=self._ensure_user_id(),
            user_auth=self._read_auth == "user",
            max_results=OWN_TWEETS_LOOKBACK,
            exclude=["retweets"],
            tweet_fields=OWN_TWEET_FIELDS,
        )
        wanted = _comparable(request.text)
        target = request.reply_to.external_id if request.reply_to else None
        data = payload.get("data")
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if _comparable(_full_text(item)) != wanted:
                continue
            if _replied_to(item) != target:
                continue
            return Published(str(item["id"]), self._url(self.handle, str(item["id"])))
        return None

    # --- helpers ---

    def _ensure_user_id(self) -> str:
        if self._user_id is None:
            self.verify()
        assert self._user_id is not None
        return self._user_id

    def _remember_user_id(self, user_id: str) -> None:
        if user_id != self._user_id:
            self._user_id = user_id
            if self._on_state_change is not None:
                self._on_state_change(user_id)

    def _call(
        self, doing: str, auth: str, method: Callable[..., Any], **params: Any
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """Run one tweepy call; return (JSON payload, headers) or raise one of our errors."""
        if auth == "user":
            missing = [name for name in USER_SECRETS if name not in self._secrets]
            if missing:
                raise AuthExpired(
                    f"X needs the account's API key and secret and access token and secret "
                    f"for {doing}; missing: {', '.join(missing)}"
                )
        try:
            response = method(**params)
        except tweepy.HTTPException as exc:
            raise _error_from_x(exc, doing, auth) from exc
        except requests.Timeout as exc:
            raise Transient(f"X did not answer within {self.timeout:g} s while {doing}") from exc
        except requests.RequestException as exc:
            raise Transient(f"could not reach X while {doing}: {type(exc).__name__}") from exc
        except ValueError as exc:  # tweepy's int() of a garbled x-rate-limit-reset header
            raise Transient(f"X sent a reply we could not read while {doing}") from exc
        return _json_of(response, doing), response.headers

    def _mentions_from_page(self, payload: dict[str, Any]) -> list[IncomingMention]:
        page_problems = list(payload.get("_problems", ()))
        includes = payload.get("includes")
        if not isinstance(includes, dict):
            if includes is not None:
                page_problems.append("the page's includes were not an object")
            includes = {}
        users = _index(includes.get("users"))
        tweets = _index(includes.get("tweets"))
        data = payload.get("data")
        if data is None:
            data = []
        elif not isinstance(data, list):
            page_problems.append("the page's data was not a list")
            data = [data]
        mentions = []
        dropped = 0
        for item in data:
            mention = self._mention_from(item, users, tweets, page_problems)
            if mention is None:
                dropped += 1
            else:
                mentions.append(mention)
        if dropped:
            self.dropped_without_id += dropped
            log.warning("X mentions: dropped %d item(s) without an id", dropped)
        return mentions

    def _mention_from(
        self,
        item: Any,
        users: dict[str, dict[str, Any]],
        tweets: dict[str, dict[str, Any]],
        page_problems: list[str],
    ) -> IncomingMention | None:
        """Normalise one tweet; None only when it has no id at all."""
        if not isinstance(item, dict):
            return None
        raw_id = item.get("id")
        if raw_id is None or raw_id == "" or isinstance(raw_id, (dict, list, bool)):
            return None
        problems = list(page_problems)
        tweet_id = str(raw_id)
        if not isinstance(raw_id, str):
            problems.append(f"id {tweet_id} was a number, not a string")
        tweet_id, changed = _clean(tweet_id)
        if changed or not tweet_id.isdigit():
            problems.append("id is not a numeric tweet id")

        text = _full_text(item)
        if not isinstance(item.get("text"), str):
            problems.append("text missing")
        text, changed = _clean(text)
        if changed:
            problems.append(
                "text had invalid characters (NUL or lone surrogates), replaced by U+FFFD"
            )
        if len(text) > MAX_TEXT_CHARS:
            problems.append(f"text was {len(text)} characters; kept the first {MAX_TEXT_CHARS}")
            text = text[:MAX_TEXT_CHARS]

        author, author_problems = _author(item.get("author_id"), users)
        problems += author_problems
        created_at, time_problem = _created_at(item.get("created_at"), tweet_id)
        if time_problem:
            problems.append(time_problem)
        kind, in_reply_to, ref_problems = _kind(item.get("referenced_tweets"))
        problems += ref_problems

        conversation_id = item.get("conversation_id")
        if conversation_id is None:
            problems.append("conversation_id missing")
        elif not isinstance(conversation_id, (str, int)) or isinstance(conversation_id, bool):
            problems.append("conversation_id unreadable")
            conversation_id = None

        raw: dict[str, Any] = {"data": item}
        related = {"users": [users[author.platform_id]] if author.platform_id in users else []}
        referenced = [tweets[r] for r in _reference_ids(item) if r in tweets]
        if referenced:
            related["tweets"] = referenced
        raw["includes"] = related
        raw, changed = _clean_tree(raw)
        if changed and not any("invalid characters" in p for p in problems):
            problems.append("payload had invalid characters (NUL or lone surrogates), replaced")

        if problems:
            log.info("X mention %s kept with problems: %s", tweet_id, "; ".join(problems))
        return IncomingMention(
            platform=self.platform,
            external_id=tweet_id,
            author=author,
            text=text,
            created_at=created_at,
            kind=kind,
            in_reply_to_external_id=in_reply_to,
            thread_root_external_id=str(conversation_id) if conversation_id is not None else None,
            url=self._url(author.handle, tweet_id),
            raw=raw,
            problems=tuple(dict.fromkeys(problems)),
        )

    @staticmethod
    def _url(handle: str, tweet_id: str) -> str:
        if not tweet_id.isdigit():
            return ""
        if _USERNAME.fullmatch(handle or ""):
            return f"https://x.com/{handle}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"


# --- pure helpers ---------------------------------------------------------------------------


def _error_from_x(exc: tweepy.HTTPException, doing: str, auth: str) -> ConnectorError:
    """Translate a tweepy HTTP error into our error types, in plain words."""
    status = getattr(exc.response, "status_code", 0)
    said = "; ".join(str(m) for m in exc.api_messages if m) or getattr(exc.response, "reason", "")
    said_lower = said.lower()
    if isinstance(exc, tweepy.TooManyRequests):
        reset_at = _epoch(exc.reset_time)
        when = (
            f"the budget refills at {reset_at:%Y-%m-%d %H:%M:%S} UTC"
            if reset_at
            else "X did not say when the budget refills"
        )
        return RateLimited(f"X rate limit reached while {doing}: {when}", reset_at=reset_at)
    if status >= 500:
        return Transient(f"X had a server error ({status}) while {doing}; try again later")
    if status in (400, 403, 404):
        for words, reason in _REFUSALS:
            if words in said_lower:
                return Rejected(reason)
    if status == 401 or isinstance(exc, tweepy.Unauthorized):
        if auth == "app":
            return AuthExpired(
                "X rejected the bearer token: check the app's bearer token in the account "
                f"settings, or regenerate it in the X developer console (X said: {said})"
            )
        return AuthExpired(
            "X rejected the access token: check the API key and secret and the access token "
            "and secret in the account settings; they may have been regenerated or revoked "
            f"(X said: {said})"
        )
    if status == 403:
        return AuthExpired(
            f"X refused access while {doing}: the app may lack the needed permission "
            "(read and write), may not be attached to a project, or the account may be "
            f"locked or suspended; check the X developer console (X said: {said})"
        )
    if status == 404:
        return Rejected(f"X could not find what we asked for while {doing} (X said: {said})")
    return Rejected(f"X refused the request while {doing} ({status}; X said: {said})")


def _json_of(response: requests.Response, doing: str) -> dict[str, Any]:
    """The response's JSON object; bytes that aren't UTF-8 become U+FFFD and are flagged."""
    body = response.content or b""
    problems = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        problems.append("the page from X had bytes that are not UTF-8; replaced by U+FFFD")
    try:
        payload = json.loads(text)
    except ValueError:
        raise Transient(
            f"X sent a reply that is not JSON while {doing} (HTTP {response.status_code})"
        ) from None
    if not isinstance(payload, dict):
        raise Transient(f"X sent JSON that is not an object while {doing}")
    if problems:
        payload["_problems"] = problems
    return payload


def _budget(headers: Mapping[str, str]) -> RateBudget | None:
    limit = _int(headers.get("x-rate-limit-limit"))
    remaining = _int(headers.get("x-rate-limit-remaining"))
    reset_at = _epoch(_int(headers.get("x-rate-limit-reset")))
    if limit is None and remaining is None and reset_at is None:
        return None
    return RateBudget(limit, remaining, reset_at)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _epoch(seconds: int | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _x_message(payload: Mapping[str, Any]) -> str:
    errors = payload.get("errors")
    messages = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            messages.append(str(error.get("detail") or error.get("message") or error))
    return "; ".join(messages) or "no reason given"


def _clean(text: str) -> tuple[str, bool]:
    """``clean_text``, and whether it changed anything."""
    cleaned = clean_text(text)
    return cleaned, cleaned != text


def _clean_tree(value: Any) -> tuple[Any, bool]:
    """``clean_payload``, and whether it changed anything."""
    cleaned = clean_payload(value)
    return cleaned, cleaned != value


def _index(items: Any) -> dict[str, dict[str, Any]]:
    """includes.users / includes.tweets by id, ignoring entries we can't read."""
    if not isinstance(items, list):
        return {}
    return {str(i["id"]): i for i in items if isinstance(i, dict) and i.get("id") is not None}


def _full_text(item: Mapping[str, Any]) -> str:
    note = item.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
        return str(note["text"])
    text = item.get("text")
    return text if isinstance(text, str) else ""


def _author(author_id: Any, users: dict[str, dict[str, Any]]) -> tuple[Author, list[str]]:
    if author_id is None or author_id == "":
        return Author(platform_id="", handle=""), ["author_id missing"]
    author_id = str(author_id)
    user = users.get(author_id)
    if user is None:
        return Author(platform_id=author_id, handle=""), [
            f"author {author_id} missing from includes.users"
        ]
    problems = []
    username = user.get("username")
    if not isinstance(username, str) or not username:
        problems.append(f"author {author_id} has no username")
        username = ""
    name = user.get("name")
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    return (
        Author(
            platform_id=author_id,
            handle=_clean(username)[0],
            display_name=_clean(name)[0] if isinstance(name, str) else "",
            followers=followers if isinstance(followers, int) else None,
            verified=user.get("verified") is True,
        ),
        problems,
    )


def _created_at(value: Any, tweet_id: str) -> tuple[datetime, str | None]:
    """The post's time (UTC); from the snowflake id when X's field is missing or unreadable."""
    problem = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            problem = f"created_at {value[:40]!r} unreadable"
        else:
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC), "created_at had no time zone; read as UTC"
            return parsed.astimezone(UTC), None
    else:
        problem = "created_at missing"
    if tweet_id.isdigit():
        try:
            ms = (int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS
            return datetime.fromtimestamp(ms / 1000, UTC), f"{problem}; time taken from the id"
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(UTC), f"{problem}; time set to when it was fetched"


def _kind(refs: Any) -> tuple[Kind, str | None, list[str]]:
    """mention / reply / quote from referenced_tweets, and the id replied to."""
    if refs is None:
        return "mention", None, []
    if not isinstance(refs, list):
        return "mention", None, ["referenced_tweets unreadable"]
    problems = []
    replied_to = quoted = None
    for ref in refs:
        if not isinstance(ref, dict) or not ref.get("id"):
            problems.append("a referenced tweet without an id")
            continue
        ref_type, ref_id = ref.get("type"), str(ref["id"])
        if ref_type == "replied_to":
            replied_to = ref_id
        elif ref_type == "quoted":
            quoted = ref_id
        elif ref_type == "retweeted":
            problems.append(f"a retweet of {ref_id}, kept as a mention")
        else:
            problems.append(f"unknown referenced tweet type {str(ref_type)[:40]!r}")
    if replied_to:
        return "reply", replied_to, problems
    if quoted:
        return "quote", None, problems
    return "mention", None, problems


def _reference_ids(item: Mapping[str, Any]) -> list[str]:
    refs = item.get("referenced_tweets")
    if not isinstance(refs, list):
        return []
    return [str(r["id"]) for r in refs if isinstance(r, dict) and r.get("id")]


def _replied_to(item: Mapping[str, Any]) -> str | None:
    refs = item.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _comparable(text: str) -> str:
    """Text as X stores it, reduced to what survives: entities, links and reply @s differ."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _URL.sub("<link>", text)
    text = _LEADING_MENTIONS.sub("", text.strip())
    return " ".join(text.split())


def _age_key(mention: IncomingMention) -> tuple[datetime, int]:
    tweet_id = mention.external_id
    return mention.created_at, int(tweet_id) if tweet_id.isdigit() else -1


def _next_cursor(
    start: _Cursor, found: Mapping[str, IncomingMention], exhausted: bool
) -> str | None:
    """The cursor after a fetch: never past a tweet that is not fetched yet."""
    ids = [int(i) for i in found if i.isdigit()]
    newest = max([*ids, int(start.newest_id or 0), int(start.since_id or 0)], default=0)
    if exhausted:
        # every tweet between since and until (or since and now) is in hand
        return str(newest) if newest else start.dump()
    if not ids:
        return start.dump()  # stopped without learning where: fetch the same range again
    return _Cursor(start.since_id, str(min(ids)), str(newest)).dump()
