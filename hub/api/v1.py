"""The JSON API, version 1: the queue, mentions, replies, posts, decisions and customers.

Every endpoint calls the service function the matching page calls, behind the same role check
(``hub.auth.role_required``), and answers in JSON; failures are ``{"error": {"code", "message"}}``
with the message the page would show (see ``hub.api.errors``). Requests are authenticated by
an ``Authorization: Bearer`` token only (:func:`_authenticate`); the browser's session cookie
does not count here, which is why this blueprint needs no CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from connectors.base import clean_text
from hub.api import tokens
from hub.api.errors import ApiError, Unauthorized
from hub.api.openapi import (
    DEFAULT_LIMIT,
    MAX_CUSTOMER_QUERY,
    MAX_LIMIT,
    MAX_OVERRIDE_REASON,
    MAX_SCHEDULE,
    MAX_WHY,
    document,
)
from hub.api.present import (
    customer_brief,
    customer_doc,
    decision_brief,
    decision_doc,
    mention_doc,
    outbound_doc,
)
from hub.auth import role_required
from hub.compliance import reports
from hub.customers import profiles
from hub.db import READ_METHODS, attempt, get_session
from hub.engagement.moderation import assign_mention, claim_mention, move_mention
from hub.engagement.queue import list_queue
from hub.engagement.views.queue import filter_from
from hub.errors import Forbidden, NotFound
from hub.i18n import _
from hub.ids import parse_id
from hub.models import Mention, OutboundItem, PolicyDecision, Staff, utcnow
from hub.publishing.posts import (
    MAX_POST_CHARS,
    NewPost,
    my_items,
    parse_schedule,
    submit_post,
    visible_post,
)
from hub.publishing.present import stopped_message
from hub.publishing.replies import MAX_REPLY_CHARS, SubmitReply, submit_reply
from hub.publishing.submission import Outcome, SubmitResult

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
#: the most rows one list answer holds
#: roles as the pages have them
QUEUE_ROLES = ("employee", "manager")
READER_ROLES = ("employee", "manager", "compliance")
AGENTS = ("employee", "manager")


@bp.before_request
def _authenticate() -> None:
    """Sign the request in as the bearer token's owner, or refuse it (401).

    The person is set for this request only (Flask-Login's per-request user), so
    ``current_user`` and every role check see the token's owner, and the session cookie is
    never read. A read token may only read.
    """
    g._login_user = AnonymousUserMixin()  # until the token says who: the cookie never does
    if request.endpoint == "api_v1.openapi":
        return
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized(_("Send your API token in the header: Authorization: Bearer <token>."))
    session = get_session()
    found = tokens.token_owner(session, raw.strip())
    if found is None:
        raise Unauthorized(
            _("That API token does not work: it is wrong, revoked, or its owner is inactive.")
        )
    token, staff = found
    if token.scope != "write" and request.method not in READ_METHODS:
        raise Forbidden(
            _("This token may only read. Make a read and write token to change things.")
        )
    g._login_user = staff
    now = utcnow()
    if tokens.needs_touch(token, now):
        if request.method in READ_METHODS:
            # the request's own transaction is read-only: note the use in a short one of its
            # own; "last used" is a hint, so a busy database skips it rather than fail the read
            try:
                with current_app.extensions["hub.sessionmaker"].begin() as writer:
                    tokens.touch_token(writer, token.id, now)
            except OperationalError:
                current_app.logger.warning("api token %s: last use not recorded", token.id)
        else:
            tokens.touch_token(session, token.id, now)


# --- input -----------------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    """The request's JSON object (an empty body counts as ``{}``)."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The request body must be a JSON object."))
    return data


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and name not in data):
        raise ApiError(422, "invalid", _("'%(field)s' must be text.", field=name))
    if len(value) > limit:
        raise ApiError(
            422, "invalid", _("'%(field)s' is at most %(max)s characters.", field=name, max=limit)
        )
    return clean_text(value)


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, "invalid", _("'%(field)s' must be true or false.", field=name))
    return value


def _id(data: dict[str, Any], name: str, *, big: bool = False) -> int | None:
    """An id field: a positive integer, or null/absent."""
    value = data.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or parse_id(str(value), big=big) is None
    ):
        raise ApiError(
            422, "invalid", _("'%(field)s' must be an id (a positive integer).", field=name)
        )
    return value


def _limit() -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    value = parse_id(raw)
    if value is None or value > MAX_LIMIT:
        raise ApiError(
            400, "bad_request", _("'limit' must be a number from 1 to %(max)s.", max=MAX_LIMIT)
        )
    return value


def _mention(mention_id: int) -> Mention:
    mention = get_session().get(Mention, mention_id)
    if mention is None:
        raise NotFound(_("That mention does not exist."))
    return mention


# --- mentions --------------------------------------------------------------------------------


@bp.get("/mentions")
@role_required(*QUEUE_ROLES)
def list_mentions() -> Any:
    """The queue with its filters (the page's query arguments) and keyset paging (``after``)."""
    f, problems = filter_from(request.args)
    page = list_queue(get_session(), f, current_user, _limit())
    return jsonify(
        items=[mention_doc(m) for m in page.mentions],
        next=page.next_token,
        total=page.total,
        counts=page.counts,
        problems=problems,
    )


@bp.get("/mentions/<bigid:mention_id>")
@role_required(*READER_ROLES)
def get_mention(mention_id: int) -> Any:
    return jsonify(mention_doc(_mention(mention_id), full=True))


@bp.post("/mentions/<bigid:mention_id>/claim")
@role_required(*QUEUE_ROLES)
def claim(mention_id: int) -> Any:
    """Claim the mention if nobody has it (or ``seen_assignee`` still has it)."""
    seen = _id(_body(), "seen_assignee")
    with attempt() as session:
        mention = _mention(mention_id)
        claim_mention(session, mention, current_user, seen)
    return jsonify(mention_doc(mention, full=True))


@bp.post("/mentions/<bigid:mention_id>/assign")
@role_required("manager")
def assign(mention_id: int) -> Any:
    """Give the mention to ``staff_id`` (null: back to the team's pool)."""
    data = _body()
    if "staff_id" not in data:
        raise ApiError(422, "invalid", _("'%(field)s' is required.", field="staff_id"))
    staff_id = _id(data, "staff_id")
    session = get_session()
    assignee = session.get(Staff, staff_id) if staff_id is not None else None
    if staff_id is not None and assignee is None:
        raise ApiError(422, "invalid", _("No such person."))
    with attempt():
        mention = _mention(mention_id)
        assign_mention(session, mention, assignee, current_user)
    return jsonify(mention_doc(mention, full=True))


@bp.post("/mentions/<bigid:mention_id>/status")
@role_required(*QUEUE_ROLES)
def status(mention_id: int) -> Any:
    data = _body()
    to = _text(data, "status", 20)
    why = _text(data, "why", MAX_WHY, required=False)
    with attempt() as session:
        mention = _mention(mention_id)
        move_mention(session, mention, to, current_user, why)
    return jsonify(mention_doc(mention, full=True))


# --- replies and posts -----------------------------------------------------------------------


def _submitted(kind: str, result: SubmitResult) -> Any:
    """The answer to a reply or post submission: 201 with the new item, 200 for a repeat of
    one already made, 422 with the decision when the check stopped it."""
    session = get_session()
    decision = decision_brief(result.decision)
    if result.item is None:
        body = {
            "error": {
                "code": str(result.outcome),
                "message": stopped_message(kind, result.outcome),
            },
            "outcome": str(result.outcome),
            "decision": decision,
        }
        return jsonify(body), 422
    doc = {
        "outcome": str(result.outcome),
        "decision": decision,
        "item": outbound_doc(session, result.item),
    }
    return jsonify(doc), 200 if result.outcome == Outcome.DUPLICATE else 201


@bp.post("/mentions/<bigid:mention_id>/replies")
@role_required(*QUEUE_ROLES)
def reply(mention_id: int) -> Any:
    """Reply through the composer's path: check, then send, hold for review, or stop.

    Sending the same text again returns the first reply (the composer's send-once key), so a
    retried request never makes a second one. ``seen_outbound_id`` is the newest reply the
    caller knew of (0 or absent: none); a reply someone else sent since is a 409 unless
    ``confirm_answered``.
    """
    data = _body()
    text = _text(data, "text", MAX_REPLY_CHARS + 1)
    form = SubmitReply(
        mention_id,
        text,
        confirm_warnings=_flag(data, "confirm_warnings"),
        seen_outbound_id=_id(data, "seen_outbound_id") or 0,
        confirm_answered=_flag(data, "confirm_answered"),
    )
    with attempt() as session:
        result = submit_reply(session, form, current_user)
    return _submitted("reply", result)


@bp.get("/replies/<id:item_id>")
@role_required(*READER_ROLES)
def get_reply(item_id: int) -> Any:
    """A reply, for whoever may read its mention's page (which lists it)."""
    session = get_session()
    item = session.get(OutboundItem, item_id)
    if item is None or item.kind != "reply":
        raise NotFound(_("There is no such reply."))
    return jsonify(outbound_doc(session, item))


@bp.get("/posts")
@role_required(*AGENTS)
def list_posts() -> Any:
    """The caller's own posts, newest first."""
    session = get_session()
    return jsonify(
        items=[outbound_doc(session, i) for i in my_items(session, current_user, "post", _limit())]
    )


@bp.post("/posts")
@role_required(*AGENTS)
def create_post() -> Any:
    data = _body()
    schedule_raw = _text(data, "schedule_at", MAX_SCHEDULE, required=False)
    schedule_at = parse_schedule(schedule_raw)
    form = NewPost(
        account_id=_id(data, "account_id"),
        text=_text(data, "text", MAX_POST_CHARS + 1),
        schedule_at=schedule_at,
        confirm_warnings=_flag(data, "confirm_warnings"),
        override_reason=_text(data, "override_reason", MAX_OVERRIDE_REASON, required=False),
    )
    with attempt() as session:
        result = submit_post(session, form, current_user)
    return _submitted("post", result)


@bp.get("/posts/<id:item_id>")
@role_required(*AGENTS)
def get_post(item_id: int) -> Any:
    session = get_session()
    item = visible_post(session, current_user, item_id)
    if item is None:
        raise NotFound(_("No such post of yours."))
    return jsonify(outbound_doc(session, item))


# --- compliance ------------------------------------------------------------------------------


@bp.get("/decisions")
@role_required("compliance")
def list_decisions() -> Any:
    """Policy decisions of a period (the reports' ``from``/``to``/``days``, ``platform``,
    ``team``) and ``verdict``, newest first; ``before`` pages on by id."""
    f = reports.parse_filter(request.args, utcnow().date())
    verdict = request.args.get("verdict", "")
    if verdict and verdict not in reports.VERDICTS:
        raise ApiError(
            400,
            "bad_request",
            _("'verdict' must be one of %(choices)s.", choices=", ".join(reports.VERDICTS)),
        )
    before = request.args.get("before", "")
    before_id = parse_id(before)
    if before and before_id is None:
        raise ApiError(400, "bad_request", _("'before' must be an id (a positive integer)."))
    limit = _limit()
    q = select(PolicyDecision).where(*reports.decision_filters(f))
    if verdict:
        q = q.where(PolicyDecision.verdict == verdict)
    if before_id is not None:
        q = q.where(PolicyDecision.id < before_id)
    rows = list(get_session().scalars(q.order_by(PolicyDecision.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        items=[decision_doc(d) for d in rows],
        next=str(rows[-1].id) if more and rows else None,
        period={"from": f.start.isoformat(), "to": f.end.isoformat()},
    )


@bp.get("/decisions/<id:decision_id>")
@role_required("compliance")
def get_decision(decision_id: int) -> Any:
    decision = get_session().get(PolicyDecision, decision_id)
    if decision is None:
        raise NotFound(_("There is no such decision."))
    return jsonify(decision_doc(decision))


# --- customers -------------------------------------------------------------------------------


@bp.get("/customers")
@role_required(*AGENTS)
def list_customers() -> Any:
    """Customers whose name or a handle contains ``q`` (newest first when empty)."""
    query = request.args.get("q", "")[:MAX_CUSTOMER_QUERY]
    rows = profiles.find_customers(get_session(), query, _limit())
    return jsonify(items=[customer_brief(c) for c in rows])


@bp.get("/customers/<id:customer_id>")
@role_required(*AGENTS)
def get_customer(customer_id: int) -> Any:
    """A customer's profile, identities, tags and newest 20 mentions."""
    session = get_session()
    customer = profiles.get_customer(session, customer_id)
    return jsonify(customer_doc(customer, profiles.mention_history(session, customer.id, 20)))


@bp.get("/openapi.json")
def openapi() -> Any:
    """This API's OpenAPI 3.0.3 document (public: it holds no data)."""
    return jsonify(document())
