"""Every failure under /api/v1 is JSON ``{"error": {"code", "message"}}``, never the HTML
error page: 400/401/403/404/405/409/413/422/500 and bodies that are not JSON, with the
pages' messages in the caller's language."""

from __future__ import annotations

import pytest

import hub.api.v1


def _is_error(resp, status: int, code: str) -> None:
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    assert set(resp.json) >= {"error"} and resp.json["error"]["code"] == code
    assert resp.json["error"]["message"]
    assert b"<html" not in resp.data.lower()


def test_unknown_paths_and_methods(make_staff, api):
    caller = api(make_staff("manager"))
    _is_error(caller.get("/nothing-here"), 404, "not_found")
    _is_error(caller.get("/mentions/99999999999999999999"), 404, "not_found")
    resp = caller.open("DELETE", "/mentions")
    _is_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]
    assert caller.client.get("/queue/nothing").mimetype == "text/html"  # pages keep HTML


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"],
)
def test_malformed_bodies(make_staff, make_mention, api, body):
    m = make_mention()
    caller = api(make_staff("manager"))
    resp = caller.open(
        "POST", f"/mentions/{m.id}/status", data=body, headers={"Content-Type": "application/json"}
    )
    _is_error(resp, 400, "bad_request")


def test_wrong_types_are_422_not_500(make_staff, make_mention, api):
    m = make_mention()
    caller = api(make_staff("manager"))
    for body in (
        {"text": 5},
        {"text": "hi", "confirm_warnings": "yes"},
        {"text": "hi", "seen_outbound_id": -3},
    ):
        _is_error(caller.post(f"/mentions/{m.id}/replies", json=body), 422, "invalid")


def test_too_large_is_413_json(app, make_staff, api):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    caller = api(make_staff("manager"))
    _is_error(caller.post("/posts", json={"text": "x" * 5000}), 413, "too_large")


def test_a_crash_is_a_json_500_with_the_pages_message(make_staff, api, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(hub.api.v1, "list_queue", boom)
    resp = api(make_staff("manager")).get("/mentions")
    _is_error(resp, 500, "server_error")
    assert resp.json["error"]["message"].startswith("Something went wrong on our side")


def test_messages_follow_accept_language(make_staff, make_mention, api):
    emp = make_staff("employee")
    m = make_mention()
    caller = api(emp)
    resp = caller.get("/mentions/999999", headers={"Accept-Language": "es"})
    assert resp.json["error"]["message"] == "Esa mención no existe."
    resp = caller.post(
        f"/mentions/{m.id}/status", json={"status": "closed"}, headers={"Accept-Language": "es"}
    )
    assert resp.json["error"]["message"] == "Toma esta mención antes de cambiarla."
    resp = api(make_staff("compliance")).get("/mentions", headers={"Accept-Language": "es"})
    _is_error(resp, 403, "forbidden")
    assert resp.json["error"]["message"] == "Tu rol no permite ver esta página."


def test_nul_and_lone_surrogates_never_reach_the_database(app, make_staff, make_mention, api):
    """PostgreSQL refuses NUL in text and no encoder takes a lone surrogate: both arrive as
    U+FFFD, never as a 500."""
    m = make_mention()
    caller = api(make_staff("manager"))
    body = '{"status": "escalated", "why": "late\\u0000 \\ud800"}'
    resp = caller.open(
        "POST", f"/mentions/{m.id}/status", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 200, resp.json
    post = caller.post("/posts", json={"account_id": m.account_id, "text": "Hi\x00 there \ud800"})
    assert post.status_code in (201, 422), post.json
