"""The sandbox: a small real platform the hub ships, so the demo and tests need no account.

It has its own store (a separate database, SQLite by default), its own users and posts. Customers
post on the hub's "post as a customer" pages; the brand's connector reads posts addressed to the
brand by cursor and publishes replies that then show under the customer's post, exactly like the
X and Bluesky connectors do against their platforms.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.schema import CreateIndex, CreateTable

from .base import (
    Author,
    Batch,
    Connector,
    IncomingMention,
    Limits,
    PostRequest,
    Published,
    Rejected,
    Transient,
    clean_text,
    register,
)

#: what the store takes from anyone (the customer pages' textarea says the same); what the brand
#: may post is the connector's ``limits``, which count like X so the demo behaves as X would
MAX_LENGTH = 500
HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")

metadata = MetaData()
posts = Table(
    "sandbox_posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author", String(30), nullable=False, index=True),
    Column("display_name", String(100), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reply_to", Integer, ForeignKey("sandbox_posts.id"), nullable=True),
    Column("root_id", Integer, nullable=True, index=True),
    #: the publisher's idempotency key: publishing the same key twice returns the first post
    Column("client_key", String(64), nullable=True, unique=True),
)


#: Letters of other scripts that NFKC leaves alone but that look like Latin ones (from Unicode's
#: confusables.txt, TR39), case kept: Cyrillic "В" looks like "B", its lower case "в" like no
#: Latin letter. Hand-written because no maintained Python package computes TR39 skeletons;
#: it only has to cover lookalikes of the ASCII letters a sandbox handle is made of.
_SCRIPT_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеорсухіјѕԁһӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν",
    "ABESIJKMHOPCTXYaeopcyxijsdhlABEZHIKMNOPTYXoiv",
)
#: right-to-left and left-to-right overrides, embeddings and isolates: they reorder what is shown,
#: so "\u202eraewtooFlertseK" reads "KestrelFootwear"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: ASCII lookalikes, compared after casefolding: "0" and "o", "1", "l" and "I" (casefolded "i"),
#: "rn" and "m", "vv" and "w"
_ASCII_LOOKALIKES = (("0", "o"), ("1", "l"), ("i", "l"), ("rn", "m"), ("vv", "w"))


def name_key(name: str) -> str:
    """What a handle or display name looks like to a reader, to compare it with another's.

    NFKC folds full-width and styled letters (ＫＥＳ, 𝐊𝐞𝐬) to plain ones; lookalike letters of
    other scripts become Latin; casefolding ignores case; NFKD then keeps only letters and
    digits, which drops accents, spaces, underscores and invisible characters (zero-width
    spaces and joiners, bidi marks); finally digits and letter pairs that pass for others
    ("0"/"o", "1"/"l"/"I", "rn"/"m") are made the same.
    """
    text = unicodedata.normalize("NFKC", clean_text(name)).translate(_SCRIPT_LOOKALIKES)
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if c.isalpha() or c.isdigit()
    )
    for lookalike, plain in _ASCII_LOOKALIKES:
        text = text.replace(lookalike, plain)
    return text


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def N_(message: str) -> str:
    """Mark a message for the hub's catalogue (Babel extracts ``N_``); the hub translates it
    when it shows the error (this library never imports hub)."""
    return message


class SandboxError(ValueError):
    """Bad input to the sandbox; the message is for the person who typed it.

    ``template`` is the message with %-style ``params`` still apart, so the page that shows it
    can translate it (``str(exc)`` is the English text)."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params


def _create_schema(engine: Engine) -> None:
    """The store's tables and indexes, if they are not there yet. Not ``metadata.create_all``:
    it looks, then creates, so two processes opening a new store at once (the web workers and
    the poller of a hub just started) both saw no table and one failed on "table already
    exists", a 500 on the sandbox page. IF NOT EXISTS is decided inside the database."""
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))


class SandboxStore:
    """The sandbox platform's own database."""

    _engines: ClassVar[dict[str, Engine]] = {}
    _lock = threading.Lock()

    def __init__(self, url: str) -> None:
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = create_engine(
                    url,
                    connect_args={"timeout": 30, "check_same_thread": False}
                    if url.startswith("sqlite")
                    else {},
                )
                if url.startswith("sqlite"):
                    event.listen(engine, "connect", _sqlite_wal)
                _create_schema(engine)
                self._engines[url] = engine
        self.engine = engine

    def create_post(
        self,
        author: str,
        text: str,
        display_name: str = "",
        reply_to: int | None = None,
        client_key: str | None = None,
        reserved: Collection[str] = (),
    ) -> dict[str, Any]:
        """Publish a post as ``author``; validates like a real platform would.

        ``reserved`` are handles nobody else may pose as (the brand's, on the customer pages):
        an author handle or display name that reads like one of them is refused.
        """
        author = author.strip().lstrip("@")
        if _BIDI_CONTROLS.intersection(display_name):
            raise SandboxError(N_("A display name cannot contain text-direction controls."))
        keys = {name_key(r) for r in reserved} - {""}
        if name_key(author) in keys:
            raise SandboxError(
                N_(
                    "That handle reads like the brand's own account, which only the brand "
                    "posts from; pick a name of your own."
                )
            )
        if name_key(display_name) in keys:
            raise SandboxError(
                N_(
                    "That display name reads like the brand's own account, which only the brand "
                    "posts from; pick a name of your own."
                )
            )
        if not HANDLE_RE.fullmatch(author):
            raise SandboxError(N_("A handle is 1–30 letters, digits or underscores."))
        text = text.strip()
        if not text:
            raise SandboxError(N_("The post is empty."))
        if len(text) > MAX_LENGTH:
            raise SandboxError(N_("Posts are at most %(max)s characters."), max=MAX_LENGTH)
        with self.engine.begin() as conn:
            root_id = None
            if reply_to is not None:
                parent = (
                    conn.execute(select(posts).where(posts.c.id == reply_to)).mappings().first()
                )
                if parent is None:
                    raise SandboxError(N_("The post you are replying to does not exist."))
                root_id = parent["root_id"] or parent["id"]
            row = {
                "author": author,
                "display_name": display_name.strip()[:100],
                "text": text,
                "created_at": datetime.now(UTC),
                "reply_to": reply_to,
                "root_id": root_id,
                "client_key": client_key,
            }
            pk = conn.execute(insert(posts).values(**row)).inserted_primary_key
            assert pk is not None
            new_id = pk[0]
        return {**row, "id": new_id}

    def get(self, post_id: int) -> RowMapping | None:
        """One post."""
        with self.engine.connect() as conn:
            return conn.execute(select(posts).where(posts.c.id == post_id)).mappings().first()

    def by_client_key(self, key: str) -> RowMapping | None:
        """The post published under an idempotency key, if any."""
        with self.engine.connect() as conn:
            return conn.execute(select(posts).where(posts.c.client_key == key)).mappings().first()

    def thread(self, post_id: int) -> list[RowMapping]:
        """A post's whole thread, oldest first."""
        post = self.get(post_id)
        if post is None:
            return []
        root = post["root_id"] or post["id"]
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(posts)
                    .where((posts.c.id == root) | (posts.c.root_id == root))
                    .order_by(posts.c.id)
                ).mappings()
            )

    def recent_roots(self, limit: int = 30) -> list[RowMapping]:
        """The newest top-level posts, for the sandbox's front page."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(posts)
                    .where(posts.c.reply_to.is_(None))
                    .order_by(posts.c.id.desc())
                    .limit(limit)
                ).mappings()
            )

    def after(self, post_id: int, limit: int) -> list[RowMapping]:
        """Posts with an id above ``post_id``, oldest first."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(posts).where(posts.c.id > post_id).order_by(posts.c.id).limit(limit)
                ).mappings()
            )


def _sqlite_wal(dbapi_conn, _record):  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@register("sandbox")
class SandboxConnector(Connector):
    """The brand's account on the sandbox platform."""

    platform = "sandbox"
    limits = Limits(280, "x_weighted", "Sandbox")
    #: the store is the hub's own setting: the sandbox ships with the hub, one per hub
    host_settings = {"store_url": "SANDBOX_URL"}
    page_size = 200

    def __init__(
        self,
        config: dict[str, Any],
        secrets: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        on_state_change: Any = None,
    ) -> None:
        self.handle = str(config["handle"]).lstrip("@")
        self.store = SandboxStore(config["store_url"])
        self._mention = re.compile(rf"(?<!\w)@{re.escape(self.handle)}(?!\w)", re.IGNORECASE)

    @classmethod
    def configuration_schema(cls) -> dict[str, dict[str, Any]]:
        return {"handle": {"label": "Brand handle on the sandbox", "secret": False}}

    def verify(self) -> str:
        return self.handle

    def url_for(self, post_id: int) -> str:
        """Where the post is seen on the sandbox (relative to the hub)."""
        return f"/sandbox/p/{post_id}"

    def fetch_mentions(self, cursor: str | None) -> Batch:
        try:
            last = int(cursor or 0)
        except ValueError:
            last = 0
        try:
            rows = self.store.after(last, self.page_size)
            parents = {r["id"]: r for r in rows}
            mentions = []
            for row in rows:
                last = row["id"]
                if row["author"].lower() == self.handle.lower():
                    continue
                parent = None
                if row["reply_to"] is not None:
                    parent = parents.get(row["reply_to"]) or self.store.get(row["reply_to"])
                to_brand = parent is not None and parent["author"].lower() == self.handle.lower()
                if not (to_brand or self._mention.search(row["text"])):
                    continue
                mentions.append(self._normalise(row, "reply" if to_brand else "mention"))
        except OperationalError as exc:
            raise Transient(f"sandbox store unavailable: {exc.orig}") from exc
        return Batch(mentions=mentions, cursor=str(last), more=len(rows) == self.page_size)

    def _normalise(self, row: RowMapping, kind: str) -> IncomingMention:
        raw = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        return IncomingMention(
            platform="sandbox",
            external_id=str(row["id"]),
            author=Author(
                platform_id=row["author"],
                handle=row["author"],
                display_name=row["display_name"] or row["author"],
            ),
            text=row["text"],
            created_at=_utc(row["created_at"]),
            kind=kind,  # type: ignore[arg-type]
            in_reply_to_external_id=str(row["reply_to"]) if row["reply_to"] else None,
            thread_root_external_id=str(row["root_id"] or row["id"]),
            url=self.url_for(row["id"]),
            raw=raw,
        )

    def publish(self, request: PostRequest) -> Published:
        reply_to = None
        if request.reply_to is not None:
            try:
                reply_to = int(request.reply_to.external_id)
            except ValueError as exc:
                raise Rejected("that post is not a sandbox post") from exc
        try:
            row = self.store.create_post(
                self.handle, request.text, reply_to=reply_to, client_key=request.idempotency_key
            )
        except SandboxError as exc:
            raise Rejected(str(exc)) from exc
        except IntegrityError:
            found = self.find_published(request)
            if found is None:
                raise
            return found
        except OperationalError as exc:
            raise Transient(f"sandbox store unavailable: {exc.orig}") from exc
        return Published(external_id=str(row["id"]), url=self.url_for(row["id"]))

    def find_published(self, request: PostRequest) -> Published | None:
        if not request.idempotency_key:
            return None
        row = self.store.by_client_key(request.idempotency_key)
        return Published(str(row["id"]), self.url_for(row["id"])) if row else None
