"""The connector interface every platform implements, and the platform-neutral types it speaks.

Connectors are libraries: they never import hub/, never touch the database and never sleep on
their own. They turn a platform's API into these dataclasses and raise these errors; the hub's
scheduler decides whether to back off, refresh, retry or give up.

Every connector implements ``Connector`` and registers itself with ``@register(name)``; one that
can also push mentions as they happen implements the optional ``StreamingConnector`` as well.
"""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

Kind = Literal["mention", "reply", "quote"]

#: NUL (PostgreSQL refuses it) and lone surrogates (no encoder accepts them)
_INVALID_CHARS = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Text every database and encoder accepts: NUL and lone surrogates become U+FFFD."""
    return _INVALID_CHARS.sub("\ufffd", value)


def clean_payload(value: Any) -> Any:
    """A JSON-safe copy of a payload: strings (keys too) cleaned, other objects as text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {
            clean_text(k) if isinstance(k, str) else k: clean_payload(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_payload(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean_text(str(value))  # anything else (datetimes, SDK objects) as text


@dataclass(frozen=True)
class Author:
    """A platform account that wrote something addressed to us."""

    platform_id: str  #: the platform's stable id (X user id, Bluesky DID, sandbox handle)
    handle: str
    display_name: str = ""
    followers: int | None = None
    verified: bool = False


@dataclass(frozen=True)
class IncomingMention:
    """A mention, reply or quote addressed to one of our accounts, normalised."""

    platform: str
    external_id: str  #: X tweet id, Bluesky at:// URI, sandbox post id
    author: Author
    text: str
    created_at: datetime  #: timezone-aware UTC
    kind: Kind = "mention"
    in_reply_to_external_id: str | None = None  #: the post this one answers, if any
    thread_root_external_id: str | None = None  #: X conversation_id, Bluesky reply root
    url: str = ""
    #: platform-only extras needed to reply (Bluesky cid of this post and of the thread root)
    reply_ref: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  #: the payload as received, for audit
    #: set by the connector when the payload was odd but still usable (missing fields, unknown
    #: reasons, oversize text); the hub stores the mention and flags it instead of crashing
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Batch:
    """What one fetch returned: mentions oldest first and the cursor to store with them."""

    mentions: list[IncomingMention]
    cursor: str | None  #: opaque; store it in the same transaction as the mentions
    rate_limit: RateBudget | None = None
    #: the fetch stopped at its page limit with more waiting: the caller polls again at once
    #: (within the rate budget) rather than a poll interval later, so a burst is read at the
    #: speed ingest takes it, not one page per interval
    more: bool = False


@dataclass(frozen=True)
class RateBudget:
    """What the platform said about the remaining request budget (from response headers)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True)
class ReplyTarget:
    """What a reply must carry for the platform to thread it."""

    external_id: str  #: the post we answer (X tweet id, Bluesky at:// URI, sandbox id)
    #: Bluesky needs strong refs: {"cid": ..., "root_uri": ..., "root_cid": ...}
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PostRequest:
    """A post (reply_to is None) or a reply to publish."""

    text: str
    reply_to: ReplyTarget | None = None
    #: our own idempotency key; connectors that can store it on the platform do, and
    #: ``find_published`` uses it to reconcile after a crash between publish and record
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Published:
    """A post the platform accepted."""

    external_id: str
    url: str = ""


@dataclass(frozen=True)
class Limits:
    """How long a post may be, how the platform counts it, and the name people know it by.

    The one truth for length: the hub hands it to the policy engine (each draft carries its
    platform's limit) and to the composer's counter, so all three count alike.
    """

    max_length: int
    counting: Literal["x_weighted", "graphemes", "characters"]
    #: for messages: "as X counts them" (empty: the hub uses the platform's registered name)
    platform_name: str = ""


# --- errors ---------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class RateLimited(ConnectorError):
    """The platform said to wait; reset_at is when the budget refills (None if not said)."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class AuthExpired(ConnectorError):
    """Credentials are missing, wrong, revoked or expired: a person must act."""


class Transient(ConnectorError):
    """A timeout, a 5xx or a dropped connection: try again later."""


class Rejected(ConnectorError):
    """The platform refused this request for good (deleted parent, too long, duplicate...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the interface --------------------------------------------------------------------------


class Connector(abc.ABC):
    """One account on one platform.

    Constructed as ``Cls(config, secrets, state=None, on_state_change=None)``: ``config`` holds
    plain settings (handle, base URL), ``secrets`` the decrypted credentials, ``state`` what the
    connector asked the hub to persist last time (a Bluesky session string), and
    ``on_state_change(state)`` is called whenever that should be saved again. The host also sets
    ``config["allow_local_network"]`` (``connectors.outbound.ALLOW_LOCAL_NETWORK``): whether the
    connector may reach addresses on this machine or a private network.
    """

    platform: ClassVar[str]
    limits: ClassVar[Limits]
    #: config keys the host fills from its own settings when an account's config leaves them
    #: out, as {config key: host setting name} (the sandbox's store is the hub's SANDBOX_URL)
    host_settings: ClassVar[Mapping[str, str]] = {}
    #: config keys holding addresses the connector connects to, as {config key: secure scheme}
    #: ("https", "wss"); the host checks them with ``connectors.outbound.AddressPolicy`` when an
    #: account is added, and the connector checks every connection it makes
    address_settings: ClassVar[Mapping[str, str]] = {}

    @abc.abstractmethod
    def __init__(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
        on_state_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Build the connector for one account (see the class docstring)."""

    @classmethod
    def configuration_schema(cls) -> dict[str, dict[str, Any]]:
        """Fields an admin fills in to connect an account; ``secret: True`` ones are encrypted."""
        return {}

    @abc.abstractmethod
    def verify(self) -> str:
        """Check the credentials; return the account's handle or raise a ConnectorError."""

    @abc.abstractmethod
    def fetch_mentions(self, cursor: str | None) -> Batch:
        """Mentions, replies and quotes since ``cursor``, oldest first."""

    @abc.abstractmethod
    def publish(self, request: PostRequest) -> Published:
        """Publish a post or reply, or raise a ConnectorError."""

    def close(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Release network clients; the default has none."""

    def find_published(self, request: PostRequest) -> Published | None:
        """Look for ``request`` among the account's recent posts (crash reconciliation).

        The default says "not found"; connectors that can look it up override this.
        """
        return None


@runtime_checkable
class StreamingConnector(Protocol):
    """Optional interface: a connector that can also push mentions as they are posted.

    The host runs ``stream_mentions`` in a thread of its own, next to polling (a pushed mention
    goes through the same ingest; the stream never moves the poll cursor). Check for it with
    ``isinstance(connector, StreamingConnector)`` or ``issubclass(cls, StreamingConnector)``.
    """

    def stream_mentions(
        self,
        on_mention: Callable[[IncomingMention], None],
        stop_event: threading.Event,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        """Hand each mention to ``on_mention`` as it arrives, until ``stop_event`` is set.

        ``on_connect`` is called once the connection is up. Returns when ``stop_event`` is set;
        raises ``Transient`` when the connection drops or can't be made (the host polls instead
        and reconnects later), another ``ConnectorError`` for what polling would raise, and
        re-raises whatever ``on_mention`` raised (that mention is sent again next time).
        """


_ConnectorClass = TypeVar("_ConnectorClass", bound=type[Connector])

#: platform name -> connector class, filled by ``register`` when a connector module is imported
REGISTRY: dict[str, type[Connector]] = {}


def register(platform: str) -> Callable[[_ConnectorClass], _ConnectorClass]:
    """Class decorator adding a connector to the registry under ``platform``."""

    def wrap(cls: _ConnectorClass) -> _ConnectorClass:
        REGISTRY[platform] = cls
        return cls

    return wrap
