"""The API's OpenAPI 3.0.3 document, served at ``/api/v1/openapi.json``.

Kept by hand next to the routes (hub.api.v1): the API validates its few body fields itself
rather than through a schema library, so there is no schema to generate from. A test
(tests/api/test_openapi.py) fails when a route is missing here or a path here has no route,
and a schemathesis run checks that the answers match these schemas.
"""

from __future__ import annotations

from typing import Any

from hub.compliance.reports import VERDICTS as REPORT_VERDICTS
from hub.engagement.queue import MAX_QUERY, MAX_TAG
from hub.ids import MAX_BIG_ID, MAX_ID
from hub.models import API_SCOPES, MENTION_STATUSES, OUTBOUND_STATES, PRIORITIES
from hub.publishing.posts import MAX_POST_CHARS
from hub.publishing.replies import MAX_REPLY_CHARS
from hub.publishing.submission import Outcome

VERDICTS = list(REPORT_VERDICTS)
#: what a submission through the API can come to (an edit's "unchanged" is the pages' only)
OUTCOMES = [str(o) for o in Outcome if o is not Outcome.UNCHANGED]

#: the API's own bounds, read by hub.api.v1 where it checks them
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MAX_WHY = 500
MAX_SCHEDULE = 40
MAX_OVERRIDE_REASON = 4000
MAX_CUSTOMER_QUERY = 200


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _str(nullable: bool = False, **kw: Any) -> dict[str, Any]:
    return {"type": "string", **({"nullable": True} if nullable else {}), **kw}


def _int(nullable: bool = False, **kw: Any) -> dict[str, Any]:
    return {"type": "integer", **({"nullable": True} if nullable else {}), **kw}


def _time(nullable: bool = True) -> dict[str, Any]:
    return _str(nullable, format="date-time")


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_PERSON = {**_obj(["id", "name"], id=_int(), name=_str()), "nullable": True}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        ["error"],
        error=_obj(
            ["code", "message"],
            code=_str(description="A stable word for the kind of failure."),
            message=_str(description="What the pages say for it, in the caller's language."),
        ),
    ),
    "Mention": _obj(
        ["id", "platform", "text", "status", "priority", "assignee", "team"],
        id=_int(),
        platform=_str(),
        kind=_str(),
        url=_str(),
        author_handle=_str(),
        author_name=_str(),
        text=_str(),
        created_at=_time(),
        received_at=_time(),
        language=_str(True),
        status=_str(enum=list(MENTION_STATUSES)),
        priority=_str(enum=list(PRIORITIES)),
        team=_PERSON,
        assignee=_PERSON,
        customer_id=_int(True),
        tags=_list(_str()),
        first_response_due_at=_time(),
        first_response_at=_time(),
        attributes={"type": "object", "description": "What triage found (single mention only)."},
        routing_rule_id=_int(True),
        routing_why={"type": "object", "description": "Why routing placed it here."},
        allowed_moves=_list(_str(enum=list(MENTION_STATUSES))),
    ),
    "MentionPage": _obj(
        ["items", "next", "total", "counts"],
        items=_list(_ref("Mention")),
        next=_str(True, description="Pass as `after` for the next page; null on the last."),
        total=_int(),
        counts={"type": "object", "additionalProperties": _int()},
        problems=_list(_str()),
    ),
    "Finding": _obj(
        ["rule_id", "severity", "message"],
        rule_id=_str(),
        guideline=_str(),
        severity=_str(),
        message=_str(),
        span={**_list(_int()), "nullable": True},
        suggestion=_str(True),
    ),
    "Verdict": _obj(
        ["verdict", "findings"],
        verdict=_str(enum=VERDICTS),
        pack_version=_str(),
        findings=_list(_ref("Finding")),
    ),
    "Decision": _obj(
        ["id", "verdict", "findings", "author_id", "created_at"],
        id=_int(),
        outbound_id=_int(True),
        author_id=_int(),
        team_id=_int(True),
        kind=_str(),
        platform=_str(),
        text=_str(),
        is_product={"type": "boolean", "nullable": True},
        elapsed_ms={"type": "number"},
        created_at=_time(False),
        verdict=_str(enum=VERDICTS),
        pack_version=_str(),
        findings=_list(_ref("Finding")),
    ),
    "DecisionPage": _obj(
        ["items", "next", "period"],
        items=_list(_ref("Decision")),
        next=_str(True, description="Pass as `before` for the next page."),
        period=_obj(["from", "to"], **{"from": _str(format="date"), "to": _str(format="date")}),
    ),
    "Outbound": _obj(
        ["id", "kind", "state", "state_text", "text", "account", "decision"],
        id=_int(),
        kind=_str(enum=["reply", "post"]),
        state=_str(enum=list(OUTBOUND_STATES)),
        state_text=_str(description="The state in words, as the author's pages say it."),
        waiting_reason=_str(True),
        text=_str(),
        account=_obj(["id", "platform", "handle"], id=_int(), platform=_str(), handle=_str()),
        mention_id=_int(True),
        author=_PERSON,
        created_at=_time(),
        not_before=_time(),
        sent_at=_time(),
        url=_str(True),
        decision={"nullable": True, "allOf": [_ref("Verdict")]},
    ),
    "OutboundList": _obj(["items"], items=_list(_ref("Outbound"))),
    "Submitted": _obj(
        ["outcome", "decision", "item"],
        outcome=_str(enum=OUTCOMES),
        decision={"nullable": True, "allOf": [_ref("Verdict")]},
        item=_ref("Outbound"),
    ),
    "Stopped": _obj(
        ["error"],
        error=_obj(["code", "message"], code=_str(), message=_str()),
        outcome=_str(enum=OUTCOMES),
        decision={"nullable": True, "allOf": [_ref("Verdict")]},
    ),
    "Identity": _obj(["platform", "handle"], platform=_str(), handle=_str(), followers=_int(True)),
    "Customer": _obj(
        ["id", "display_name", "tags", "identities"],
        id=_int(),
        display_name=_str(),
        vip={"type": "boolean"},
        blocked={"type": "boolean"},
        tags=_list(_str()),
        identities=_list(_ref("Identity")),
        created_at=_time(),
        recent_mentions=_list(_ref("Mention")),
    ),
    "CustomerList": _obj(["items"], items=_list(_ref("Customer"))),
    "ClaimBody": _obj(
        [],
        seen_assignee=_int(
            True, minimum=1, maximum=MAX_ID, description="Who the caller saw holding it."
        ),
    ),
    "AssignBody": _obj(
        ["staff_id"], staff_id=_int(True, minimum=1, maximum=MAX_ID, description="null: nobody.")
    ),
    "StatusBody": _obj(
        ["status"], status=_str(enum=list(MENTION_STATUSES)), why=_str(maxLength=MAX_WHY)
    ),
    "ReplyBody": _obj(
        ["text"],
        text=_str(maxLength=MAX_REPLY_CHARS),
        confirm_warnings={"type": "boolean"},
        seen_outbound_id=_int(True, minimum=1, maximum=MAX_ID),
        confirm_answered={"type": "boolean"},
    ),
    "PostBody": _obj(
        ["account_id", "text"],
        account_id=_int(minimum=1, maximum=MAX_ID),
        text=_str(maxLength=MAX_POST_CHARS),
        schedule_at=_str(
            maxLength=MAX_SCHEDULE, description="UTC date and time; empty or absent: now."
        ),
        confirm_warnings={"type": "boolean"},
        override_reason=_str(maxLength=MAX_OVERRIDE_REASON),
    ),
}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, big: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _int(minimum=1, maximum=MAX_BIG_ID if big else MAX_ID),
    }


_LIMIT = _q(
    "limit",
    _int(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT),
    f"Rows per page, at most {MAX_LIMIT}.",
)
_ERROR = {"description": "A failure", "content": {"application/json": {"schema": _ref("Error")}}}


def _op(
    summary: str,
    schema: str,
    *,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    stopped: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            status: {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(schema)}},
            },
            "default": _ERROR,
        },
    }
    if body is not None:
        op["requestBody"] = {
            "required": body not in ("ClaimBody",),
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if stopped:
        op["responses"]["200"] = {
            "description": "The same submission again: the first item, nothing new made",
            "content": {"application/json": {"schema": _ref("Submitted")}},
        }
        op["responses"]["422"] = {
            "description": "Stopped by the check (blocked, or warnings to confirm), or bad input",
            "content": {"application/json": {"schema": _ref("Stopped")}},
        }
    return op


_MENTION_FILTERS = [
    _q("status", _str(), "active (default), all, or a status: " + ", ".join(MENTION_STATUSES)),
    _q("scope", _str(enum=["teams", "all"])),
    _q("team", _str(), "A team id."),
    _q("platform", _str()),
    _q("assignee", _str(), "me, none, or a staff id."),
    _q("language", _str(), "A language code, or none."),
    _q("priority", _str(enum=list(PRIORITIES))),
    _q("overdue", _str(enum=["1"])),
    _q("q", _str(maxLength=MAX_QUERY), "Text or handle contains."),
    _q("tag", _str(maxLength=MAX_TAG)),
    _q("after", _str(), "The `next` of the previous page."),
    _LIMIT,
]
_PERIOD = [
    _q("from", _str(format="date")),
    _q("to", _str(format="date")),
    _q("days", _str(enum=["7", "30", "90"])),
    _q("platform", _str()),
    _q("team", _str(), "A team id."),
    _q("verdict", _str(enum=VERDICTS)),
    _q("before", _str(), "The `next` of the previous page."),
    _LIMIT,
]

PATHS: dict[str, dict[str, Any]] = {
    "/mentions": {
        "get": _op("The queue, with its filters", "MentionPage", params=_MENTION_FILTERS)
    },
    "/mentions/{mention_id}": {
        "get": _op(
            "One mention: attributes, routing reason, status, assignee",
            "Mention",
            params=[_path("mention_id", True)],
        )
    },
    "/mentions/{mention_id}/claim": {
        "post": _op("Claim it", "Mention", params=[_path("mention_id", True)], body="ClaimBody")
    },
    "/mentions/{mention_id}/assign": {
        "post": _op(
            "Assign it (managers)", "Mention", params=[_path("mention_id", True)], body="AssignBody"
        )
    },
    "/mentions/{mention_id}/status": {
        "post": _op(
            "Move it to a status", "Mention", params=[_path("mention_id", True)], body="StatusBody"
        )
    },
    "/mentions/{mention_id}/replies": {
        "post": _op(
            "Reply through the policy check",
            "Submitted",
            status="201",
            params=[_path("mention_id", True)],
            body="ReplyBody",
            stopped=True,
        )
    },
    "/replies/{item_id}": {
        "get": _op("One reply and its state", "Outbound", params=[_path("item_id")])
    },
    "/posts": {
        "get": _op("Your posts", "OutboundList", params=[_LIMIT]),
        "post": _op(
            "Post through the policy check",
            "Submitted",
            status="201",
            body="PostBody",
            stopped=True,
        ),
    },
    "/posts/{item_id}": {"get": _op("One of your posts", "Outbound", params=[_path("item_id")])},
    "/decisions": {"get": _op("Policy decisions (compliance)", "DecisionPage", params=_PERIOD)},
    "/decisions/{decision_id}": {
        "get": _op("One policy decision (compliance)", "Decision", params=[_path("decision_id")])
    },
    "/customers": {
        "get": _op(
            "Find customers",
            "CustomerList",
            params=[_q("q", _str(maxLength=MAX_CUSTOMER_QUERY)), _LIMIT],
        )
    },
    "/customers/{customer_id}": {
        "get": _op(
            "A customer's profile and recent mentions", "Customer", params=[_path("customer_id")]
        )
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Engagement hub API",
            "version": "1",
            "description": (
                "Make a token on your account's API tokens page and send it as "
                "`Authorization: Bearer <token>`. A token acts as you, with your role; a read "
                'token may only read. Errors are `{"error": {"code", "message"}}` with the '
                "message the hub's pages give, in the language of Accept-Language. Token scopes: "
                + ", ".join(API_SCOPES)
                + "."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
