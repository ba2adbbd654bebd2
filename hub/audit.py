"""Append-only audit events chained by hash, so any edited or deleted row is detectable.

Each event stores ``prev_hash`` (the hash of the event before it, in id order) and ``hash``, the
SHA-256 of ``[prev_hash, at, actor_id, action, subject_type, subject_id, data]`` as compact,
key-sorted JSON (see :func:`event_digest`). Ids may have gaps (a rolled-back transaction on
PostgreSQL burns sequence numbers); continuity is proved by the hashes, not by the ids. When
retention purges the oldest events it records where it cut (the setting ``audit.anchor``: the last
purged event's id and hash), and :func:`verify_chain` starts from there.

No application code updates or deletes audit rows; the only delete is
hub.compliance.retention.purge.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    DateTime,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from hub.models import AuditEvent, Setting, Staff, utcnow

if TYPE_CHECKING:
    from flask import Flask

GENESIS = "0" * 64
ANCHOR_KEY = "audit.anchor"
#: the UI runs a full verify itself only up to this many events; beyond, it points at the CLI
UI_VERIFY_LIMIT = 100_000
#: where `hub audit verify` keeps its last result (in the app's instance folder)
LAST_VERIFY_FILE = "audit-verify.json"

# One encoder object for every digest: json.dumps(**kwargs) would build a new encoder per call,
# which is a measurable share of verifying a million events. The output is identical.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode
_sha256 = hashlib.sha256


def event_digest(
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int,
    data: dict[str, Any],
) -> str:
    """The hash of one event: what record_events stores and verify_chain recomputes."""
    body = _ENCODER([prev_hash, at.isoformat(), actor_id, action, subject_type, subject_id, data])
    return _sha256(body.encode()).hexdigest()


_digest = event_digest  # the historical name


def record_event(
    session: Session,
    action: str,
    subject_type: str,
    subject_id: int,
    actor_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    """Append one event in the caller's transaction, chained to the previous one."""
    return record_events(session, [(action, subject_type, subject_id, actor_id, data)])[0]


def _chain(
    session: Session, events: list[tuple[str, str, int, int | None, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The rows of events chained onto the newest stored one, under the appenders' lock."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so two transactions never chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7283001)"))
    prev_hash = (
        session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or None
    )
    if prev_hash is None:
        # Everything was purged: chain on from the retention anchor, not from genesis.
        anchor = chain_anchor(session)
        prev_hash = anchor["hash"] if anchor else GENESIS
    rows = []
    for action, subject_type, subject_id, actor_id, data in events:
        at = utcnow()
        digest = event_digest(prev_hash, at, actor_id, action, subject_type, subject_id, data)
        rows.append(
            {
                "at": at,
                "actor_id": actor_id,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "data": data,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows


def record_events(
    session: Session, events: list[tuple[str, str, int, int | None, dict[str, Any]]]
) -> list[AuditEvent]:
    """Append several events at once (action, subject type, subject id, actor id, data)."""
    rows = [AuditEvent(**row) for row in _chain(session, events)]
    session.add_all(rows)
    session.flush()
    return rows


def append_events(
    session: Session, events: list[tuple[str, str, int, int | None, dict[str, Any]]]
) -> None:
    """``record_events`` for callers that do not need the rows back (ingest): one multi-row
    INSERT of the table, without ORM objects or the ORM's bulk insert, which re-examines every
    row for the same statement."""
    if events:
        session.execute(insert(cast(Table, AuditEvent.__table__)), _chain(session, events))


def chain_anchor(session: Session) -> dict[str, Any] | None:
    """The retention anchor ({"id", "hash", ...}) or None; read directly to avoid an import cycle
    with hub.settings, which records its changes through this module."""
    value = session.scalar(select(Setting.value).where(Setting.key == ANCHOR_KEY))
    if isinstance(value, dict) and isinstance(value.get("id"), int) and value.get("hash"):
        return value
    return None


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link: which event, and what is wrong with it."""

    id: int
    action: str
    at: str
    #: "edited" (content does not match its hash), "relinked" (a row deleted or inserted
    #: before it), "anchor" (the retention anchor is not attested), "missing" (rows at the end
    #: were deleted or rewritten since the last verify)
    kind: str
    problem: str


class VerifyResult(NamedTuple):
    """Outcome of a verify run; ``result[0]``/``result[1]`` are (checked, broken id)."""

    checked: int
    broken_id: int | None
    brk: ChainBreak | None = None
    head_id: int | None = None
    head_hash: str | None = None
    anchor_id: int | None = None
    seconds: float = 0.0
    #: True when only the events after ``start`` were checked (a tail check)
    partial: bool = False

    @property
    def ok(self) -> bool:
        """True if no broken link was found."""
        return self.brk is None


def _fmt(at: Any) -> str:
    return at.isoformat() if isinstance(at, datetime) else str(at)


def _sqlite_at(stored: str) -> str:
    """``at.isoformat()`` of a UTC time straight from SQLite's text, without building a datetime.

    SQLAlchemy stores SQLite datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` (its documented default
    storage format; UTCDateTime stores UTC); isoformat() writes ``T``, drops ``.000000`` and adds
    ``+00:00``. Anything else takes the slow, general road. Parsing dominated the verify loop.
    """
    if len(stored) == 26 and stored[10] == " " and stored[19] == ".":
        micro = stored[19:] if stored[20:] != "000000" else ""
        return f"{stored[:10]}T{stored[11:19]}{micro}+00:00"
    return _utc(datetime.fromisoformat(stored)).isoformat()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


_raw_decode = json.JSONDecoder().raw_decode


def _sqlite_data(stored: str) -> Any:
    """The JSON column's text parsed; trailing text counts as an edit, not as ignorable."""
    value, end = _raw_decode(stored)
    if end != len(stored):
        raise ValueError("trailing text after the JSON value")
    return value


def _stored_columns(session: Session) -> tuple[Any, Any, Any, Any]:
    """(at column, data column, at → isoformat, data → value) reading the driver's own values.

    UTCDateTime and JSON result processing cost more than hashing itself, so verify selects the
    raw values (type_coerce) and converts them here, exactly as the types would.
    """
    t = AuditEvent.__table__
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(t.c.at, String), type_coerce(t.c.data, Text), _sqlite_at, _sqlite_data
    # psycopg returns aware datetimes in the session's zone and already-parsed JSON
    return (
        type_coerce(t.c.at, DateTime(timezone=True)),
        t.c.data,
        lambda at: _utc(at).isoformat(),
        lambda data: data,
    )


def verify_chain(
    session: Session,
    batch: int = 20_000,
    *,
    last: int | None = None,
    until_id: int | None = None,
    known_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Recompute every event's hash and link, oldest first; stop at the first broken link.

    ``last`` checks only the newest N events (linked to the event before them); ``until_id``
    stops after that event; ``known_head`` is (id, hash) of the head a previous verify saw, so a
    chain cut short or rewritten from the end since then is reported too.

    Rows are streamed as plain tuples through SQLAlchemy Core (a server-side cursor on
    PostgreSQL), never as ORM objects: this is what makes a million events take seconds.
    """
    started = time.perf_counter()
    anchor = chain_anchor(session)
    t = AuditEvent.__table__
    prev_hash = GENESIS
    start_id: int | None = None
    expected_first = "the chain's start"
    partial = False
    if last is not None:
        partial = True
        before = session.execute(
            select(t.c.id, t.c.hash).order_by(t.c.id.desc()).offset(last).limit(1)
        ).first()
        if before is not None:
            start_id, prev_hash = before.id, before.hash
            expected_first = f"event #{before.id}"
        elif anchor:
            start_id, prev_hash = anchor["id"], anchor["hash"]
            expected_first = f"the retention anchor (#{anchor['id']})"
    elif anchor:
        start_id, prev_hash = anchor["id"], anchor["hash"]
        expected_first = f"the retention anchor (#{anchor['id']})"
    if until_id is not None:
        partial = True

    at_col, data_col, at_iso, load = _stored_columns(session)
    stmt = select(
        t.c.id,
        at_col,
        t.c.actor_id,
        t.c.action,
        t.c.subject_type,
        t.c.subject_id,
        data_col,
        t.c.prev_hash,
        t.c.hash,
    )
    if start_id is not None:
        stmt = stmt.where(t.c.id > start_id)
    if until_id is not None:
        stmt = stmt.where(t.c.id <= until_id)
    stmt = stmt.order_by(t.c.id)

    checked = 0
    head_id: int | None = None
    head_action = ""
    head_at: Any = None
    before_prev: str | None = None
    attested = anchor is None or partial
    known_seen = known_head is None or (anchor is not None and known_head[0] <= anchor["id"])
    brk: ChainBreak | None = None
    encode, sha256 = _ENCODER, _sha256
    conn = session.connection()
    # per statement: Connection.execution_options() would change the connection for good
    result = conn.execute(stmt.execution_options(yield_per=batch))
    try:
        for rows in result.partitions():
            for ev_id, at, actor, action, stype, sid, data, ev_prev, ev_hash in rows:
                try:
                    at = at_iso(at)
                    data = load(data)
                    # inlined event_digest: same encoder, same list, one call less per row
                    body = encode([prev_hash, at, actor, action, stype, sid, data])
                except (TypeError, ValueError, AttributeError) as exc:
                    brk = ChainBreak(
                        ev_id,
                        str(action),
                        str(at),
                        "edited",
                        f"the row cannot be read ({exc}): the row was edited",
                    )
                    break
                if ev_prev != prev_hash:
                    if head_id is not None and ev_prev == before_prev:
                        # this row links to the one before its predecessor: the predecessor
                        # was slipped in between them
                        brk = ChainBreak(
                            head_id,
                            head_action,
                            _fmt(head_at),
                            "relinked",
                            f"inserted: event #{ev_id} links to the event before it, "
                            "not to this one",
                        )
                        break
                    what = expected_first if head_id is None else f"event #{head_id}"
                    brk = ChainBreak(
                        ev_id,
                        action,
                        _fmt(at),
                        "relinked",
                        f"prev_hash does not match the hash of {what}: "
                        "a row was deleted or inserted just before this one",
                    )
                    break
                if sha256(body.encode()).hexdigest() != ev_hash:
                    brk = ChainBreak(
                        ev_id,
                        action,
                        _fmt(at),
                        "edited",
                        "the stored hash does not match the row's content: the row was edited",
                    )
                    break
                if not attested and action == "settings.changed":
                    attested = (
                        isinstance(data, dict)
                        and data.get("key") == ANCHOR_KEY
                        and data.get("new") == anchor
                    )
                if not known_seen and known_head is not None and ev_id == known_head[0]:
                    known_seen = True
                    if ev_hash != known_head[1]:
                        brk = ChainBreak(
                            ev_id,
                            action,
                            _fmt(at),
                            "missing",
                            "the hash differs from the one the last verify recorded for this "
                            "event: the chain was rewritten from here on",
                        )
                        break
                before_prev, prev_hash = prev_hash, ev_hash
                head_id, head_action, head_at = ev_id, action, at
                checked += 1
            if brk is not None:
                break
    finally:
        result.close()

    if brk is None and not attested and anchor is not None:
        brk = ChainBreak(
            anchor["id"],
            "audit.anchor",
            str(anchor.get("at", "")),
            "anchor",
            "the retention anchor is not attested by any settings.changed event in the chain: "
            "the anchor setting was changed outside the hub",
        )
    if brk is None and not known_seen and known_head is not None and not partial:
        brk = ChainBreak(
            known_head[0],
            "?",
            "",
            "missing",
            f"event #{known_head[0]}, the head at the last verify, is gone: "
            "events were deleted from the end of the chain",
        )
    return VerifyResult(
        checked=checked,
        broken_id=brk.id if brk else None,
        brk=brk,
        head_id=head_id if head_id is not None else start_id,
        head_hash=prev_hash,
        anchor_id=anchor["id"] if anchor else None,
        seconds=time.perf_counter() - started,
        partial=partial,
    )


def verify_app_chain(app: Flask, **options: Any) -> VerifyResult:
    """verify_chain on the app's database without holding a write lock for the whole scan.

    The hub's SQLite engine opens every transaction with BEGIN IMMEDIATE (a writer's lock); a
    verify of a million events would block the running hub for that long. A plain SQLite
    connection runs the one long SELECT on a WAL read snapshot instead.
    """
    engine = app.extensions["hub.engine"]
    if engine.dialect.name != "sqlite":
        with Session(engine) as session:
            return verify_chain(session, **options)
    reader = create_engine(engine.url, connect_args={"timeout": 30})
    try:
        with Session(reader) as session:
            return verify_chain(session, **options)
    finally:
        reader.dispose()


def event_count(session: Session) -> int:
    """How many audit events the table holds."""
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def describe(result: VerifyResult) -> str:
    """One human line for a verify result (the CLI prints it; the UI shows it)."""
    head = f"checked {result.checked:,} events"
    if result.anchor_id is not None and not result.partial:
        head += f" after the retention anchor #{result.anchor_id}"
    if result.brk is None:
        return f"{head}: chain intact"
    b = result.brk
    return f"{head}: chain BROKEN at event #{b.id} ({b.action}, {b.at}): {b.problem}"


def load_last_verify(instance_path: str) -> dict[str, Any] | None:
    """The last full verify's result as saved by save_last_verify, or None."""
    path = Path(instance_path) / LAST_VERIFY_FILE
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def known_head(last: dict[str, Any] | None) -> tuple[int, str] | None:
    """(id, hash) of the head an intact earlier verify saw, to detect a chain cut at the end."""
    if not last or not last.get("ok"):
        return None
    head_id, head_hash = last.get("head_id"), last.get("head_hash")
    if isinstance(head_id, int) and isinstance(head_hash, str):
        return head_id, head_hash
    return None


def save_last_verify(instance_path: str, result: VerifyResult) -> None:
    """Keep a full verify's result in the instance folder, not the database: a verify must not
    write audit events (settings changes are audited) and must not change what it checks."""
    if result.partial:
        return
    record = {
        "at": utcnow().isoformat(),
        "checked": result.checked,
        "ok": result.ok,
        "broken": asdict(result.brk) if result.brk else None,
        "head_id": result.head_id,
        "head_hash": result.head_hash,
        "anchor_id": result.anchor_id,
        "seconds": round(result.seconds, 3),
    }
    path = Path(instance_path) / LAST_VERIFY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)


def history(session: Session, subject_type: str, subject_id: int) -> list[AuditEvent]:
    """Every event about one subject, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.id)
        )
    )


#: event data keys whose value is a person (a staff id): history lines show their names
PERSON_KEYS = ("assignee", "previous_assignee", "staff_id", "employee_id")


def people_named(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The names of everyone ``events`` refer to: their actors and the people in
    ``PERSON_KEYS``, in one query."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    for e in events:
        for key in PERSON_KEYS:
            value = (e.data or {}).get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                ids.add(value)
    if not ids:
        return {}
    rows = session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(sorted(ids))))
    return {int(i): str(n) for i, n in rows}
