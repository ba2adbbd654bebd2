"""Ids and tokens from outside are checked before they reach the database: 404 or 400, never 500.

The route tests are parametrized over the app's url_map, so a new route with an id is covered
without anyone adding a row here.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import unquote

import pytest

from hub.ids import MAX_BIG_ID, MAX_ID, BigIdConverter, IdConverter, parse_id

HUGE = "9" * 20
ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _rules() -> list[tuple[str, str, dict[str, str]]]:
    """(method, rule, {argument: converter name}) for every route that takes an argument."""
    from hub import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "SANDBOX_URL": "sqlite://",
            "SECRET_KEY": "x",
            "ENCRYPTION_KEY": "UPAOHjJek0vHHZhQ_uMolDu_2sP75d8Om3cbsZsjy-Q=",
        }
    )
    found = []
    for rule in app.url_map.iter_rules():
        args = {name: conv or "default" for conv, name in ARG.findall(rule.rule)}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if args:
                found.append((method, rule.rule, args))
    app.extensions["hub.engine"].dispose()
    return found


RULES = _rules()
#: routes whose every argument is a number (a plain <int:> included, so it is caught here too)
ID_RULES = [r for r in RULES if set(r[2].values()) <= {"id", "bigid", "int"}]
BOUNDED_RULES = [r for r in RULES if set(r[2].values()) <= {"id", "bigid"}]
MAXIMA = {"id": MAX_ID, "bigid": MAX_BIG_ID}


def _url(rule: str, value: Any) -> str:
    return ARG.sub(lambda m: str(value(m.group(1)) if callable(value) else value), rule)


#: a valid body for each API route that needs one
API_BODIES = {
    "/assign": {"staff_id": 1},
    "/status": {"status": "closed"},
    "/replies": {"text": "Hi"},
}


@pytest.fixture
def admin_client(app: Any, client: Any, make_staff: Any, login: Any) -> Any:
    """Signed in as an admin, whom every role check lets through (so the id is what decides),
    and carrying the admin's API token, which the pages ignore and /api/v1 requires."""
    from hub.api.tokens import NewToken, create_token
    from hub.db import job_session
    from hub.models import Staff

    admin = make_staff("admin")
    login(client, admin)
    with job_session(app) as s:
        _row, token = create_token(s, s.get(Staff, admin.id), NewToken("ids", "write"))
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_every_route_argument_is_an_id_or_a_name():
    """A plain <int:...> would let a 20-digit id through to the database (a 500)."""
    assert ID_RULES, "no id routes found: has the url_map changed shape?"
    for method, rule, args in RULES:
        for name, conv in args.items():
            assert conv not in ("int", "float"), (
                f"{method} {rule}: take {name!r} as <id:{name}> (or <bigid:{name}> for a "
                "BigInteger key) so an id the database cannot hold is a 404"
            )


@pytest.mark.parametrize(
    ("method", "rule", "args"), ID_RULES, ids=[f"{m} {r}" for m, r, _ in ID_RULES]
)
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_an_id_the_database_cannot_hold_is_404(app, make_staff, login, method, rule, args, who):
    client = app.test_client()
    if who == "admin":
        login(client, make_staff("admin"))
    for bad in (HUGE, str(2**63), "0", "1" * 5000):
        resp = client.open(_url(rule, bad), method=method)
        assert resp.status_code == 404, (bad[:30], resp.status_code)


@pytest.mark.parametrize(
    ("method", "rule", "args"), BOUNDED_RULES, ids=[f"{m} {r}" for m, r, _ in BOUNDED_RULES]
)
def test_the_largest_id_of_each_converter_reaches_the_view(admin_client, method, rule, args):
    """The converter's bound fits the column: its largest id is looked up (and not found)
    without an overflow (PostgreSQL: ``integer`` keys are 32-bit, ``bigint`` ones 64-bit)."""
    # the API checks a body before it looks anything up: send a valid one
    body = next((b for end, b in API_BODIES.items() if rule.endswith(end)), None)
    resp = admin_client.open(_url(rule, lambda conv: MAXIMA[conv]), method=method, json=body)
    assert resp.status_code == 404, resp.text[:300]
    over = admin_client.open(_url(rule, lambda conv: MAXIMA[conv] + 1), method=method, json=body)
    assert over.status_code == 404


@pytest.mark.parametrize(
    ("raw", "big", "expected"),
    [
        ("1", False, 1),
        (" 42 ", False, 42),
        (str(MAX_ID), False, MAX_ID),
        (str(MAX_ID + 1), False, None),
        (str(MAX_ID + 1), True, MAX_ID + 1),
        (str(MAX_BIG_ID), True, MAX_BIG_ID),
        (str(MAX_BIG_ID + 1), True, None),
        (HUGE, True, None),
        ("0", False, None),
        ("-1", False, None),
        ("", False, None),
        (None, False, None),
        ("²", False, None),  # str.isdigit() says yes, int() says no
        ("١٢", False, None),  # Arabic-Indic digits: int() reads 12, not an id we wrote
        ("1e3", False, None),
        ("0x1f", False, None),
        ("1_000", False, None),
        ("1" * 5000, True, None),  # int() refuses strings this long
    ],
)
def test_parse_id(raw, big, expected):
    assert parse_id(raw, big=big) == expected


def test_converters_are_registered_under_their_names(app):
    assert app.url_map.converters["id"] is IdConverter
    assert app.url_map.converters["bigid"] is BigIdConverter


# --- ids in forms and query strings ----------------------------------------------------------

BAD_IDS = [HUGE, str(MAX_ID + 1), "²", "١٢", "-1", "0x1f", "1" * 5000]
#: (method, path, the field carrying an id, other fields, the status a bad id gets)
FORM_IDS = [
    ("POST", "/mentions/{m}/assign", "assignee", {}, 400),
    ("POST", "/compose/check", "mention_id", {"text": "hello"}, 200),
    ("GET", "/queue", "team", {}, 200),
    ("GET", "/queue", "assignee", {}, 200),
    ("GET", "/posts/new", "account_id", {}, 200),
    ("POST", "/posts/new", "account_id", {"text": "hello", "key": "k" * 32}, 422),
    ("POST", "/posts/check", "account_id", {"text": "hello"}, 200),
    ("POST", "/posts/check", "item_id", {"text": "hello"}, 200),
    ("GET", "/reports/", "team", {}, 400),
    ("GET", "/reports/", "days", {}, 400),
    ("GET", "/audit/lookup", "id", {"kind": "outbound"}, 302),
    ("GET", "/audit/lookup", "id", {"kind": "mention"}, 302),
    ("POST", "/audit/holds", "hold_employee", {"hold_reason": "x", "hold_from": ""}, 422),
    ("POST", "/audit/export", "export_employee", {}, 422),
]


@pytest.mark.parametrize(
    ("method", "path", "field", "extra", "status"),
    FORM_IDS,
    ids=[f"{m} {p} {f}" for m, p, f, _, _ in FORM_IDS],
)
def test_a_bad_id_in_a_form_or_query_is_refused_not_a_500(
    admin_client, make_mention, method, path, field, extra, status
):
    mention = make_mention()
    url = path.format(m=mention.id)
    for bad in BAD_IDS:
        data = {**extra, field: bad}
        if method == "GET":
            resp = admin_client.get(url, query_string=data)
        else:
            resp = admin_client.post(url, data=data)
        assert resp.status_code == status, (bad[:30], resp.status_code, resp.text[:300])


def test_a_bad_reply_to_on_the_sandbox_is_refused(app, client):
    from connectors.sandbox import SandboxStore

    for bad in BAD_IDS:
        resp = client.post("/sandbox/post", data={"handle": "dana", "text": "hi", "reply_to": bad})
        assert resp.status_code == 302
        page = client.get(resp.headers["Location"]).text
        assert "The post you are replying to does not exist." in page
    # nor was it posted as a new thread instead
    assert SandboxStore(app.config["SANDBOX_URL"]).recent_roots() == []


# --- the queue's page token ------------------------------------------------------------------


def _b64(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode()


# The queue's mentions are all p3 and due within the day: a token that got through as a position
# in 2030 would give an empty page, one that got into SQL unchecked a 500.
T = "2030-01-01T00:00:00+00:00"
CRAFTED_TOKENS = [
    "not-a-token",
    "====",
    "é",
    "A" * 100_000,
    _b64("p3|2030-01-01T00:00:00|1"),  # no time zone: not a token we wrote
    _b64(f"p3|{T}|{HUGE}"),  # an id beyond bigint
    _b64(f"p3|{T}|-1"),
    _b64(f"p3|{T}|١٢"),
    _b64(f"\x00|{T}|1"),  # PostgreSQL refuses NUL in text
    _b64(f"p9|{T}|1"),  # no such priority
    _b64("p1|9999-12-31T23:59:59-23:59|1"),  # past datetime.max in UTC
    _b64("p1|0001-01-01T00:00:00+23:59|1"),  # before datetime.min in UTC
    _b64("p1||1"),
    _b64("p1|tomorrow|1"),
    _b64("p1|x"),
    _b64(f"p3|{T}|1|2"),
    _b64(b"\xff\xfe|\x80|1"),  # not UTF-8
    _b64(f"p3|{T}|1") + "!!",
]


@pytest.fixture
def queue_pages(app, make_staff, make_mention, login, client):  # type: ignore[no-untyped-def]
    """Five mentions, pages of two; returns (client, first page ids, second page ids, token)."""
    app.config["QUEUE_PAGE_SIZE"] = 2
    for i in range(5):
        make_mention(f"@KestrelFootwear hi {i}")
    login(client, make_staff("manager"))
    first = client.get("/queue").text
    token = unquote(re.search(r"after=([^\"&]+)", first).group(1))
    second = client.get("/queue", query_string={"after": token}).text
    return client, _ids(first), _ids(second), token


def _ids(html: str) -> list[str]:
    return re.findall(r'data-mention="(\d+)"', html)


@pytest.mark.parametrize("token", CRAFTED_TOKENS, ids=range(len(CRAFTED_TOKENS)))
def test_a_crafted_queue_token_gives_the_first_page(queue_pages, token):
    client, first, _, _ = queue_pages
    resp = client.get("/queue", query_string={"after": token})
    assert resp.status_code == 200
    assert _ids(resp.text) == first


def test_a_real_queue_token_gives_the_next_page(queue_pages):
    client, first, second, token = queue_pages
    assert second and not set(first) & set(second)
