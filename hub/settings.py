"""Hub-wide settings changed in the UI, each change an audit event.

Keys in use: ``retention.years`` (int, default 7), ``review.two_person_rules`` (rule ids whose
findings need two distinct approvers), ``audit.anchor`` (where retention cut the hash chain).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.models import Setting, utcnow

DEFAULTS: dict[str, Any] = {
    "retention.years": 7,
    "review.two_person_rules": [],
    "audit.anchor": None,
}


def get_setting(session: Session, key: str) -> Any:
    """The stored value, or the default."""
    row = session.get(Setting, key)
    return row.value if row is not None else DEFAULTS.get(key)


def set_setting(session: Session, key: str, value: Any, actor_id: int | None) -> None:
    """Store a value and record the change (old and new) in the audit trail."""
    row = session.get(Setting, key)
    old = row.value if row is not None else DEFAULTS.get(key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_by=actor_id, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_by = actor_id
        row.updated_at = utcnow()
    session.flush()
    record_event(session, "settings.changed", "setting", 0, actor_id, key=key, old=old, new=value)
