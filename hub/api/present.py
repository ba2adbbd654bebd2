"""The API's JSON shapes: one function per resource, so every endpoint that returns a mention
(or a reply, a post, a decision, a customer) returns the same document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.engagement.moderation import allowed_moves
from hub.models import Customer, Mention, OutboundItem, PolicyDecision, Staff
from hub.publishing.compose import finding_dict
from hub.publishing.present import describe_state, waiting_reason


def iso(at: datetime | None) -> str | None:
    """A UTC time as ISO 8601, or None."""
    return at.isoformat() if at is not None else None


def person(staff: Staff | None) -> dict[str, Any] | None:
    """A member of staff as others may see them: id and name."""
    return {"id": staff.id, "name": staff.name} if staff is not None else None


def mention_doc(m: Mention, *, full: bool = False) -> dict[str, Any]:
    """A mention: what the queue shows; ``full`` adds triage attributes and routing."""
    doc: dict[str, Any] = {
        "id": m.id,
        "platform": m.platform,
        "kind": m.kind,
        "url": m.url,
        "author_handle": m.author_handle,
        "author_name": m.author_name,
        "text": m.text,
        "created_at": iso(m.created_at),
        "received_at": iso(m.received_at),
        "language": m.language,
        "status": m.status,
        "priority": m.priority,
        "team": {"id": m.team.id, "name": m.team.name} if m.team is not None else None,
        "assignee": person(m.assignee),
        "customer_id": m.customer_id,
        "tags": list(m.tags or []),
        "first_response_due_at": iso(m.first_response_due_at),
        "first_response_at": iso(m.first_response_at),
    }
    if full:
        doc |= {
            "attributes": dict(m.attributes or {}),
            "routing_rule_id": m.routing_rule_id,
            "routing_why": dict(m.routing_why or {}),
            "allowed_moves": sorted(allowed_moves(m.status)),
        }
    return doc


def decision_brief(decision: Any) -> dict[str, Any] | None:
    """A policy decision as a submission returns it (an engine Decision or a stored row)."""
    if decision is None:
        return None
    return {
        "verdict": decision.verdict,
        "pack_version": decision.pack_version,
        "findings": [_finding(f) for f in decision.findings or []],
    }


def _finding(f: Any) -> dict[str, Any]:
    d = finding_dict(f)
    span = d.get("span")
    return {
        "rule_id": str(d.get("rule_id", "")),
        "guideline": str(d.get("guideline", "")),
        "severity": str(d.get("severity", "")),
        "message": str(d.get("message", "")),
        "span": list(span) if span else None,
        "suggestion": d.get("suggestion"),
    }


def decision_doc(d: PolicyDecision) -> dict[str, Any]:
    """A stored policy decision, as compliance reads it."""
    return {
        "id": d.id,
        "outbound_id": d.outbound_id,
        "author_id": d.author_id,
        "team_id": d.team_id,
        "kind": d.kind,
        "platform": d.platform,
        "text": d.text,
        "is_product": d.is_product,
        "elapsed_ms": float(d.elapsed_ms or 0.0),
        "created_at": iso(d.created_at),
    } | (decision_brief(d) or {})


def outbound_doc(session: Session, item: OutboundItem) -> dict[str, Any]:
    """A reply or post with its state, in words too (as its author's pages say it)."""
    return {
        "id": item.id,
        "kind": item.kind,
        "state": item.state,
        "state_text": describe_state(session, item),
        "waiting_reason": waiting_reason(session, item),
        "text": item.text,
        "account": {
            "id": item.account.id,
            "platform": item.account.platform,
            "handle": item.account.handle,
        },
        "mention_id": item.mention_id,
        "author": person(item.author),
        "created_at": iso(item.created_at),
        "not_before": iso(item.not_before),
        "sent_at": iso(item.sent_at),
        "url": item.url,
        "decision": decision_brief(item.decision),
    }


def customer_brief(c: Customer) -> dict[str, Any]:
    """A customer as a search lists them."""
    return {
        "id": c.id,
        "display_name": c.display_name,
        "vip": c.vip,
        "blocked": c.blocked,
        "tags": list(c.tags or []),
        "identities": [
            {"platform": i.platform, "handle": i.handle, "followers": i.followers}
            for i in c.identities
        ],
    }


def customer_doc(c: Customer, mentions: list[Mention]) -> dict[str, Any]:
    """A customer's profile with their recent mentions."""
    return customer_brief(c) | {
        "created_at": iso(c.created_at),
        "recent_mentions": [mention_doc(m) for m in mentions],
    }
