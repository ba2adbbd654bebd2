"""The composer's services: check a draft against the policy pack and record the decision."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import policies
from hub.audit import record_event
from hub.compliance.packs import active_pack, check_budget_ms
from hub.engagement.attributes import warm
from hub.metrics import count_decision
from hub.models import DecisionFinding, OutboundItem, OutboundState, PolicyDecision, Staff, utcnow
from hub.platforms.registry import platforms
from hub.webhooks.events import emit

MIX_WINDOW = timedelta(days=30)
#: verdicts that hold a draft back (review) or stop it (block): the ``draft.held`` webhook
HELD_VERDICTS = frozenset({"review", "block"})
#: states in which a post counts as published (or about to be) for the content mix
MIX_COUNTED_STATES = tuple(
    s.value
    for s in (
        OutboundState.SCHEDULED,
        OutboundState.SENDING,
        OutboundState.SENT,
        OutboundState.APPROVED,
        OutboundState.IN_REVIEW,
    )
)


def platform_limit(platform: str) -> policies.LengthLimit | None:
    """How long a post may be on ``platform``, as its connector declares it (the one truth for
    length, handed to the policy engine and the composer's counter); None: no such connector."""
    factory = platforms().get(platform)
    if factory is None:
        return None
    limits = factory.limits
    return policies.LengthLimit(
        limits.max_length, limits.counting, limits.platform_name or platform
    )


def author_history(
    session: Session, author_id: int, exclude_id: int | None = None
) -> policies.AuthorHistory:
    """The author's own posts of the last 30 days and how many of them promoted products.

    ``exclude_id`` leaves out the item being re-checked (an edit), so it is not counted twice.
    """
    since = utcnow() - MIX_WINDOW
    extra = [OutboundItem.id != exclude_id] if exclude_id is not None else []
    row = session.execute(
        select(
            func.count(OutboundItem.id),
            func.count(OutboundItem.id).filter(PolicyDecision.is_product.is_(True)),
        )
        .join(PolicyDecision, PolicyDecision.id == OutboundItem.decision_id, isouter=True)
        .where(
            OutboundItem.author_id == author_id,
            OutboundItem.kind == "post",
            OutboundItem.state.in_(MIX_COUNTED_STATES),
            OutboundItem.created_at >= since,
            *extra,
        )
    ).one()
    return policies.AuthorHistory(posts_30d=int(row[0]), product_posts_30d=int(row[1]))


def check_text(
    session: Session,
    author: Staff,
    text: str,
    platform: str,
    kind: str,
    in_reply_to: str | None = None,
    exclude_id: int | None = None,
) -> policies.Decision:
    """Run the policy engine on a draft (nothing stored): the live check while typing.

    ``exclude_id``: the outbound item this text is a new version of (left out of the mix).
    """
    draft = policies.Draft(
        text=text,
        platform=platform,
        kind=kind,
        in_reply_to=in_reply_to,
        limit=platform_limit(platform),
    )
    history = author_history(session, author.id, exclude_id) if kind == "post" else None
    return policies.check(
        draft,
        policies.Context(history=history, now=utcnow()),
        pack=active_pack(session),
        budget_ms=check_budget_ms(),
    )


def record_decision(
    session: Session,
    author: Staff,
    text: str,
    platform: str,
    decision: policies.Decision,
    outbound: OutboundItem | None = None,
    kind: str | None = None,
) -> PolicyDecision:
    """Store a decision with its pack version, one row per finding, and an audit event."""
    kind = kind or (outbound.kind if outbound else "reply")
    row = PolicyDecision(
        outbound_id=outbound.id if outbound else None,
        author_id=author.id,
        text=text,
        verdict=decision.verdict,
        pack_version=decision.pack_version,
        findings=[finding_dict(f) for f in decision.findings],
        platform=platform,
        elapsed_ms=decision.elapsed_ms,
        is_product=decision.is_product,
        kind=kind,
        team_id=author.team_id,
    )
    session.add(row)
    session.flush()
    session.add_all(
        DecisionFinding(
            decision_id=row.id,
            rule_id=f.rule_id,
            guideline=f.guideline,
            severity=f.severity,
            created_at=row.created_at,
        )
        for f in decision.findings
    )
    record_event(
        session,
        "decision.recorded",
        "outbound" if outbound else "decision",
        outbound.id if outbound else row.id,
        author.id,
        decision_id=row.id,
        verdict=decision.verdict,
        pack_version=decision.pack_version,
        rules=sorted({f.rule_id for f in decision.findings}),
    )
    count_decision(decision.verdict)
    if decision.verdict in HELD_VERDICTS:
        emit(
            session,
            "draft.held",
            {
                "decision_id": row.id,
                "verdict": decision.verdict,
                "kind": kind,
                "outbound_id": outbound.id if outbound else None,
                "author_id": author.id,
                "platform": platform,
                "text": text,
                "rules": sorted({f.rule_id for f in decision.findings}),
            },
        )
    return row


def finding_dict(f: Any) -> dict[str, Any]:
    """A finding as plain JSON (a stored one, already JSON, as it is)."""
    if isinstance(f, dict):
        return f
    return {
        "rule_id": f.rule_id,
        "guideline": f.guideline,
        "severity": f.severity,
        "message": f.message,
        "span": list(f.span) if f.span else None,
        "suggestion": f.suggestion,
    }


#: one sentence per language the company answers in, to load what a first check needs
_WARM_TEXTS = (
    "Thanks for waiting! The Cirrus Runner is back in stock: https://kestrelfootwear.com",
    "¡Gracias por escribirnos! Te ayudamos con tu pedido por mensaje privado.",
    "谢谢你的耐心！我们私信你处理订单。",
)


def warm_checks(session: Session) -> None:
    """Run the active pack once per language before the first request does: loading the
    models and detectors takes longer than a check's budget, so the first person to type would
    otherwise see their draft held as "needs a review" for a timeout that is not theirs."""
    pack = active_pack(session)
    for text in _WARM_TEXTS:
        policies.check(
            policies.Draft(text=text, platform="x", kind="reply", in_reply_to=text),
            pack=pack,
            budget_ms=None,
        )
    warm()
