"""What the composers and "My posts" show: the verdict with its findings marked in the text,
the mix meter, the length counter, and an item's state in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

import policies
from hub.compliance.review import approvers, version_editors
from hub.i18n import _, ngettext, when
from hub.models import OutboundItem, OutboundState, PolicyDecision, ReviewAction, utcnow
from hub.publishing.compose import finding_dict
from hub.publishing.submission import RESUBMITTED_REASON, Outcome, reason_words


def highlight(text: str, findings: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any] | None]]:
    """Split ``text`` into (piece, finding-or-None) runs so a template can mark each finding."""
    spans = sorted((f for f in findings if f.get("span")), key=lambda f: f["span"][0])
    pieces: list[tuple[str, dict[str, Any] | None]] = []
    pos = 0
    for f in spans:
        start, end = f["span"]
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        if start > pos:
            pieces.append((text[pos:start], None))
        pieces.append((text[start:end], f))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], None))
    return pieces


@dataclass(frozen=True)
class MixMeter:
    """The author's personal/product mix if this post is published, for the mix meter."""

    is_product: bool
    product_after: int
    total_after: int
    share_after: float
    limit: float

    @property
    def over_limit(self) -> bool:
        """True when publishing this would exceed the limit (exactly the limit is fine)."""
        return self.is_product and Fraction(self.product_after, self.total_after) > Fraction(
            str(self.limit)
        )


def stopped_message(kind: str, outcome: Outcome) -> str:
    """What the composer says when the check stopped a reply or post (blocked, or suggestions
    to confirm); the API gives the same words with its 422."""
    if kind == "reply":
        if outcome == Outcome.BLOCKED:
            return _("This reply can't be sent as written; see why below.")
        return _("The check has suggestions. Edit, or confirm to send as is.")
    if outcome == Outcome.BLOCKED:
        return _("This post can't go out as written; see why below.")
    return _("The check has suggestions. Edit, or tick the box to post it anyway.")


def _when(at: datetime | None) -> str:
    return _("%(when)s UTC", when=when(at, year=True)) if at else _("now")


def describe_state(session: Session, item: OutboundItem, now: datetime | None = None) -> str:
    """The item's state in plain words for its author."""
    now = now or utcnow()
    state = item.state
    if state == OutboundState.SCHEDULED:
        if item.not_before and item.not_before > now:
            return _("Scheduled for %(when)s", when=_when(item.not_before))
        if item.last_error:
            return _("Retrying: %(error)s", error=item.last_error)
        return _("Going out now")
    if state == OutboundState.IN_REVIEW:
        waiting = ngettext(
            "Waiting for review (%(done)s of %(num)s approval)",
            "Waiting for review (%(done)s of %(num)s approvals)",
            item.required_approvals,
            done=len(approvers(session, item)),
        )
        editor = version_editors(session, item.id).get(item.decision_id or 0)
        if editor is not None:
            waiting += _(
                "; %(name)s edited your text in review, another reviewer approves it",
                name=editor.name,
            )
        return waiting
    if state == OutboundState.REJECTED:
        reason = item.review_reason or _last_reject_reason(session, item) or _("no reason given")
        return _("Rejected: %(reason)s", reason=reason)
    if state == OutboundState.APPROVED:
        return _("Approved, goes out %(when)s", when=_when(item.not_before))
    if state == OutboundState.SENDING:
        return _("Being sent right now")
    if state == OutboundState.SENT:
        return _("Sent %(when)s", when=_when(item.sent_at))
    if state == OutboundState.FAILED:
        return _("Failed: %(error)s", error=item.last_error or _("the platform refused it"))
    if state == OutboundState.WITHDRAWN:
        return _("Withdrawn")
    return _("Draft, not checked yet")


def _last_reject_reason(session: Session, item: OutboundItem) -> str | None:
    return session.scalar(
        select(ReviewAction.reason)
        .where(ReviewAction.outbound_id == item.id, ReviewAction.action == "reject")
        .order_by(ReviewAction.at.desc(), ReviewAction.id.desc())
        .limit(1)
    )


def mix_meter(decision: policies.Decision) -> MixMeter | None:
    """The mix meter's numbers from a post decision (None for replies)."""
    mix = decision.mix
    if mix is None or mix.share_after is None:
        return None
    return MixMeter(
        is_product=mix.is_product,
        product_after=mix.product_posts_30d + (1 if mix.is_product else 0),
        total_after=mix.posts_30d + 1,
        share_after=mix.share_after,
        limit=mix.limit,
    )


@dataclass(frozen=True)
class VerdictView:
    """A decision as the verdict partial shows it: findings, the text marked where each one
    applies, and (for posts) the mix meter."""

    decision: Any
    findings: list[dict[str, Any]]
    pieces: list[tuple[str, dict[str, Any] | None]]
    mix: MixMeter | None = None

    def context(self) -> dict[str, Any]:
        """The names the verdict templates read."""
        return {
            "decision": self.decision,
            "findings": self.findings,
            "pieces": self.pieces,
            "mix": self.mix,
        }


def verdict_view(text: str, decision: Any | None) -> VerdictView:
    """The view of an engine decision or a stored PolicyDecision (None: nothing checked yet)."""
    if decision is None:
        return VerdictView(None, [], [])
    findings = [finding_dict(f) for f in decision.findings]
    mix = mix_meter(decision) if isinstance(decision, policies.Decision) else None
    return VerdictView(decision, findings, highlight(text, findings), mix)


def waiting_reason(session: Session, item: OutboundItem) -> str | None:
    """Why a held item waits, in the reader's language.

    ``review_reason`` keeps the English record the hub wrote at submission (the audit log,
    the archive and the CLI read it); a page rebuilds the same words from the item's decision,
    and shows the stored text as it is when it was not made that way."""
    stored = item.review_reason
    if item.state != OutboundState.IN_REVIEW or not stored:
        return stored
    if stored == RESUBMITTED_REASON:
        return _("Waiting for compliance review: you edited a post compliance had rejected.")
    decision = session.get(PolicyDecision, item.decision_id) if item.decision_id else None
    if decision is None:
        return stored
    findings = [finding_dict(f) for f in decision.findings or []]
    with force_locale("en"):
        made_here = reason_words(findings, item.override_reason) == stored
    return reason_words(findings, item.override_reason) if made_here else stored
