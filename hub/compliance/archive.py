"""A self-describing export of the audit trail for one employee and/or one period.

The archive is a .zip holding, for audit events, policy decisions, outbound items and review
actions, a JSON-lines file (authoritative: keeps types and null) and a CSV file (for
spreadsheets), plus ``manifest.json``: when and by which hub version it was made, the scope, and
for every file its SHA-256, row count and a description of every column. The manifest also
reports a check of the exported audit events: each event's hash recomputed from its own content,
and which exported events link directly to one another (an auditor can re-verify those runs with
the recipe in the manifest, without the database).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import JSON, Boolean, ColumnElement, Float, Integer, Table, and_, or_, select
from sqlalchemy.orm import Session

from hub.audit import event_digest, record_event
from hub.errors import UserError
from hub.i18n import _
from hub.models import AuditEvent, OutboundItem, PolicyDecision, ReviewAction, Staff, utcnow
from hub.spreadsheet import SafeWriter, restore_cell

FORMAT = "kestrel-hub-audit-archive"
#: 2: CSV cells that could start a formula carry a leading apostrophe (hub.spreadsheet)
FORMAT_VERSION = 2
HASH_RECIPE = (
    "hash = sha256(utf8(json([prev_hash, at, actor_id, action, subject_type, subject_id, data]))) "
    "as lowercase hex, where json is compact (separators ',' and ':'), keys sorted, non-ASCII "
    "kept as is (Python: json.dumps(x, sort_keys=True, separators=(',', ':'), "
    "ensure_ascii=False)), and `at` is exactly the exported ISO 8601 string. Each event's "
    "prev_hash is the hash of the event before it in the full chain (id order)."
)

#: Every exported column, described for whoever opens the archive without the hub.
COLUMNS: dict[str, dict[str, str]] = {
    "audit_events": {
        "id": "Position in the hub's audit chain (ids may have gaps; the hashes prove order).",
        "at": "When the event happened (UTC, ISO 8601).",
        "actor_id": "Staff id of the person who acted; empty for the system.",
        "action": "What happened, e.g. outbound.approved, decision.recorded, settings.changed.",
        "subject_type": "The kind of thing acted on: outbound, mention, decision, setting, ...",
        "subject_id": "The id of that thing (0 for hub-wide subjects such as settings).",
        "data": "Details of the event (JSON): verdicts, reasons, old and new values.",
        "prev_hash": "Hash of the previous event in the full chain (64 zeros for the first).",
        "hash": "SHA-256 of this event chained to prev_hash; see hash_recipe in the manifest.",
    },
    "policy_decisions": {
        "id": "Decision id.",
        "outbound_id": "The outbound item this version of the text belongs to, if any.",
        "author_id": "Staff id of the author of the text.",
        "text": "The exact text the policy engine checked.",
        "verdict": "allow, warn, review or block.",
        "pack_version": "Content hash of the policy pack that decided.",
        "findings": "The engine's findings (JSON): rule, guideline, severity, message, span.",
        "platform": "Platform the text was written for.",
        "elapsed_ms": "Time the check took, in milliseconds.",
        "is_product": "For posts: whether the engine counted it as a product post.",
        "created_at": "When the decision was made (UTC).",
        "kind": "reply or post.",
        "team_id": "The author's team at the time of the decision.",
    },
    "outbound_items": {
        "id": "Outbound item id.",
        "kind": "reply or post.",
        "account_id": "The company or employee platform account it is published from.",
        "author_id": "Staff id of the author.",
        "mention_id": "For replies: the customer mention answered.",
        "text": "The current text.",
        "state": "draft, checked, in_review, approved, rejected, scheduled, sending, sent, "
        "failed or withdrawn.",
        "not_before": "Earliest time it may be sent (UTC).",
        "idempotency_key": "The hub's key that makes publishing happen at most once.",
        "external_id": "The platform's id once published.",
        "url": "The platform's URL once published.",
        "attempts": "Publishing attempts so far.",
        "last_error": "The last publishing error, in words.",
        "decision_id": "The policy decision on the current text.",
        "created_at": "When the item was created (UTC).",
        "updated_at": "When the item last changed (UTC).",
        "sent_at": "When it was published (UTC).",
        "review_started_at": "When it entered compliance review (UTC).",
        "review_reason": "Why it waits for review, or the reviewer's reason for rejecting it.",
        "required_approvals": "Distinct approvers needed (2 for two-person rules).",
        "override_reason": "The author's reason when asking compliance to override a block.",
    },
    "review_actions": {
        "id": "Review action id.",
        "outbound_id": "The outbound item reviewed.",
        "reviewer_id": "Staff id of the compliance officer.",
        "action": "approve, reject, edit_approve or override.",
        "reason": "The reviewer's stated reason.",
        "decision_id": "For edit_approve: the policy decision on the edited text.",
        "at": "When the reviewer acted (UTC).",
    },
}
_TABLES: dict[str, Any] = {
    "audit_events": AuditEvent,
    "policy_decisions": PolicyDecision,
    "outbound_items": OutboundItem,
    "review_actions": ReviewAction,
}
_DESCRIPTIONS = {
    "audit_events": "The append-only, hash-chained audit trail. In scope for an employee: events "
    "they performed and events about their outbound items and decisions.",
    "policy_decisions": "Every policy check of a text, with the pack version and findings. "
    "In scope for an employee: decisions on their texts.",
    "outbound_items": "Replies and posts on their way out, and their final state. In scope for "
    "an employee: items they wrote. The period applies to created_at.",
    "review_actions": "Compliance reviewers' approvals, rejections and overrides. In scope for "
    "an employee: actions they took and actions on their items.",
}


class ArchiveError(UserError):
    """An export request that cannot go ahead; the message is for the user."""


@dataclass(frozen=True)
class ArchiveSummary:
    """What was written: the file, rows per table, the manifest's hash and the chain check."""

    #: None when the archive was written to a file object
    path: Path | None
    rows: dict[str, int]
    manifest_sha256: str
    chain: dict[str, Any]


def _col_type(column: Any) -> str:
    t = column.type
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Float):
        return "number"
    if getattr(t, "python_type", None) is datetime or "DateTime" in type(t).__name__:
        return "datetime"
    return "string"


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _csv_value(kind: str, value: Any) -> Any:
    # numbers stay numbers; every text goes through hub.spreadsheet's formula guard
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if kind == "boolean":
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if kind in ("integer", "number"):
        return value
    return str(value)


def parse_csv_value(kind: str, cell: str) -> Any:
    """Read one CSV cell back as the manifest's column type says (empty cell = null; the
    apostrophe that marks a quoted text cell is dropped)."""
    if cell == "":
        return None
    cell = restore_cell(cell)
    if kind == "json":
        return json.loads(cell)
    if kind == "boolean":
        return cell == "true"
    if kind == "integer":
        return int(cell)
    if kind == "number":
        return float(cell)
    return cell


def _scope(
    name: str, employee_id: int | None, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    o, d, r, ae = OutboundItem, PolicyDecision, ReviewAction, AuditEvent
    when = {
        "audit_events": ae.at,
        "policy_decisions": d.created_at,
        "outbound_items": o.created_at,
        "review_actions": r.at,
    }[name]
    clauses: list[ColumnElement[bool]] = []
    if start is not None:
        clauses.append(when >= start)
    if end is not None:
        clauses.append(when < end)
    if employee_id is not None:
        own_items = select(o.id).where(o.author_id == employee_id)
        if name == "audit_events":
            clauses.append(
                or_(
                    ae.actor_id == employee_id,
                    and_(ae.subject_type == "outbound", ae.subject_id.in_(own_items)),
                    and_(
                        ae.subject_type == "decision",
                        ae.subject_id.in_(select(d.id).where(d.author_id == employee_id)),
                    ),
                )
            )
        elif name == "policy_decisions":
            clauses.append(d.author_id == employee_id)
        elif name == "outbound_items":
            clauses.append(o.author_id == employee_id)
        else:
            clauses.append(or_(r.reviewer_id == employee_id, r.outbound_id.in_(own_items)))
    return clauses


def _rows(session: Session, table: Table, where: list[ColumnElement[bool]]) -> Iterator[Any]:
    stmt = select(*table.c).where(*where).order_by(table.c.id)
    result = session.connection().execute(stmt.execution_options(yield_per=5000))
    try:
        for part in result.partitions():
            yield from part
    finally:
        result.close()


class _ChainCheck:
    """Checks exported events as they stream past: own hash, and links between neighbours."""

    def __init__(self) -> None:
        self.events = 0
        self.verified = 0
        self.mismatches: list[int] = []
        self.linked = 0
        self.runs = 0
        self._last_hash: str | None = None

    def add(self, row: Any) -> None:
        self.events += 1
        digest = event_digest(
            row.prev_hash, row.at, row.actor_id, row.action, row.subject_type, row.subject_id,
            row.data,
        )  # fmt: skip
        if digest == row.hash:
            self.verified += 1
        elif len(self.mismatches) < 50:
            self.mismatches.append(row.id)
        if self._last_hash is not None and row.prev_hash == self._last_hash:
            self.linked += 1
        else:
            self.runs += 1
        self._last_hash = row.hash

    def result(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "hashes_verified": self.verified,
            "hash_mismatch_ids": self.mismatches,
            "ok": self.verified == self.events,
            "linked_pairs": self.linked,
            "consecutive_runs": self.runs,
            "note": "Each exported event's hash was recomputed from its exported content. "
            "Events in one run link directly (prev_hash = the previous row's hash); between runs "
            "lie events outside the scope.",
        }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_zip(out: Path | BinaryIO, staged: list[Path], manifest: bytes) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in staged:
            zf.write(path, arcname=path.name)
        zf.writestr("manifest.json", manifest)


def hub_version() -> str:
    """The installed hub's version (from the package metadata)."""
    try:
        return metadata.version("engagement-hub")
    except metadata.PackageNotFoundError:
        return "unknown"


def export_archive(
    session: Session,
    out_path: str | Path | BinaryIO,
    employee_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    actor_id: int | None = None,
) -> ArchiveSummary:
    """Write the archive for one employee and/or the period [start, end) to ``out_path`` (a
    path, or a seekable binary file such as a SpooledTemporaryFile for a download).

    The export is itself recorded (``audit.exported``, with the scope, the row counts and the
    manifest's SHA-256) once the file is complete.
    """
    if start is not None and end is not None and end <= start:
        raise ArchiveError(_("The period must end after it starts."))
    employee = None
    if employee_id is not None:
        employee = session.get(Staff, employee_id)
        if employee is None:
            raise ArchiveError(_("That employee does not exist."))
    files: list[dict[str, Any]] = []
    rows_per_table: dict[str, int] = {}
    chain = _ChainCheck()
    with tempfile.TemporaryDirectory(prefix="hub-export-") as tmp:
        staged: list[Path] = []
        for name, model in _TABLES.items():
            table: Table = model.__table__
            kinds = {c.name: _col_type(c) for c in table.c}
            jsonl_path, csv_path = Path(tmp, f"{name}.jsonl"), Path(tmp, f"{name}.csv")
            count = 0
            with (
                jsonl_path.open("w", encoding="utf-8", newline="\n") as jf,
                csv_path.open("w", encoding="utf-8", newline="") as cf,
            ):
                writer = SafeWriter(cf)
                writer.writerow(list(kinds))
                for row in _rows(session, table, _scope(name, employee_id, start, end)):
                    mapping = row._mapping
                    record = {k: _json_value(mapping[k]) for k in kinds}
                    jf.write(json.dumps(record, ensure_ascii=False) + "\n")
                    writer.writerow([_csv_value(kinds[k], mapping[k]) for k in kinds])
                    if name == "audit_events":
                        chain.add(row)
                    count += 1
            rows_per_table[name] = count
            columns = [
                {
                    "name": c.name,
                    "type": kinds[c.name],
                    "nullable": bool(c.nullable),
                    "description": COLUMNS[name].get(c.name, ""),
                }
                for c in table.c
            ]
            for path, fmt in ((jsonl_path, "jsonl"), (csv_path, "csv")):
                staged.append(path)
                files.append(
                    {
                        "name": path.name,
                        "table": name,
                        "format": fmt,
                        "rows": count,
                        "bytes": path.stat().st_size,
                        "sha256": _sha256_file(path),
                        "description": _DESCRIPTIONS[name],
                        "columns": columns,
                    }
                )
        head = session.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generated_at": utcnow().isoformat(),
            "hub_version": hub_version(),
            "scope": {
                "employee": (
                    {"id": employee.id, "email": employee.email, "name": employee.name}
                    if employee
                    else None
                ),
                "from": start.isoformat() if start else None,
                "to_exclusive": end.isoformat() if end else None,
                "rules": "Rows are in scope when their time (audit_events.at, "
                "policy_decisions.created_at, outbound_items.created_at, review_actions.at) "
                "lies in [from, to_exclusive) and, for an employee, as each file describes.",
            },
            "files": files,
            "formats": {
                "jsonl": "UTF-8, one JSON object per line; authoritative (keeps null vs empty).",
                "csv": "UTF-8, RFC 4180 (Excel dialect), header row; an empty cell is null (or "
                "an empty text: the JSON-lines file tells them apart); json columns hold JSON "
                "text; booleans are true/false; datetimes are ISO 8601 UTC. A text cell that "
                "would start with =, +, -, @, a tab, a carriage return or an apostrophe has an "
                "apostrophe added in front, so spreadsheets show it as text and never run it as "
                "a formula: drop one leading apostrophe to get the value back.",
            },
            "audit_chain": chain.result()
            | {"chain_head_at_export": {"id": head.id, "hash": head.hash} if head else None},
            "hash_recipe": HASH_RECIPE,
        }
        manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        if isinstance(out_path, str | Path):
            # write beside the target and rename, so a half-written archive never has its name
            target = Path(out_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            _write_zip(partial, staged, manifest_bytes)
            partial.replace(target)
        else:
            target = None
            _write_zip(out_path, staged, manifest_bytes)
    summary = ArchiveSummary(
        path=target,
        rows=rows_per_table,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        chain=manifest["audit_chain"],  # type: ignore[arg-type]
    )
    record_event(
        session,
        "audit.exported",
        "staff" if employee_id is not None else "audit",
        employee_id or 0,
        actor_id,
        employee_id=employee_id,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        rows=rows_per_table,
        manifest_sha256=summary.manifest_sha256,
    )
    return summary
