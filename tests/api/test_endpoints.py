"""Each endpoint's happy path and the guard that protects it, through the same services the
pages use (so the answers carry the pages' messages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.db import job_session
from hub.models import AuditEvent, Mention, OutboundItem, PolicyDecision

PERSONAL = (
    "Oh no, sorry! I just looked it up: your parcel left the depot this morning, should be there "
    "Friday."
)


def test_the_queue_lists_with_the_pages_filters_and_pages_by_cursor(make_staff, make_mention, api):
    mgr = make_staff("manager")
    for i in range(5):
        make_mention(f"@KestrelFootwear question {i} about sizes")
    make_mention("@KestrelFootwear my parcel is late", handle="dana")
    caller = api(mgr)
    first = caller.get("/mentions?limit=2").json
    assert len(first["items"]) == 2 and first["total"] == 6 and first["next"]
    seen = [m["id"] for m in first["items"]]
    token = first["next"]
    while token:
        page = caller.get(f"/mentions?limit=2&after={token}").json
        seen += [m["id"] for m in page["items"]]
        token = page["next"]
    assert len(seen) == len(set(seen)) == 6
    found = caller.get("/mentions?q=@dana").json["items"]
    assert [m["author_handle"] for m in found] == ["dana"]
    assert caller.get("/mentions?status=closed").json["items"] == []
    too_long = caller.get("/mentions?q=" + "x" * 300).json
    assert too_long["problems"] and too_long["total"] == 6  # the page's "ignored" rule


def test_limit_is_at_most_100(make_staff, api):
    caller = api(make_staff("manager"))
    assert caller.get("/mentions?limit=100").status_code == 200
    for bad in ("101", "0", "-1", "ten"):
        resp = caller.get(f"/mentions?limit={bad}")
        assert resp.status_code == 400 and "'limit'" in resp.json["error"]["message"]


def test_a_mention_reads_with_attributes_routing_status_and_assignee(make_staff, make_mention, api):
    m = make_mention()
    doc = api(make_staff("compliance")).get(f"/mentions/{m.id}").json
    assert doc["id"] == m.id and doc["status"] == "new" and doc["assignee"] is None
    assert doc["attributes"]["language"] == "en"
    assert "rule" in doc["routing_why"] and "open" in doc["allowed_moves"]
    assert api(make_staff("employee")).get("/mentions/999999").status_code == 404


def test_claim_takes_a_free_mention_and_refuses_a_held_one(app, make_staff, make_mention, api):
    first, second = make_staff("employee", name="Ana Ruiz"), make_staff("employee")
    m = make_mention()
    resp = api(first).post(f"/mentions/{m.id}/claim")
    assert resp.status_code == 200
    assert resp.json["assignee"]["id"] == first.id and resp.json["status"] == "open"
    resp = api(second).post(f"/mentions/{m.id}/claim")
    assert resp.status_code == 409
    assert resp.json["error"]["message"].startswith("Ana Ruiz has this mention")
    with job_session(app) as s:
        assert s.get(Mention, m.id).assignee_id == first.id


def test_assign_is_a_managers_and_names_a_real_person(app, make_staff, make_mention, api):
    mgr, emp = make_staff("manager"), make_staff("employee")
    m = make_mention()
    resp = api(mgr).post(f"/mentions/{m.id}/assign", json={"staff_id": emp.id})
    assert resp.status_code == 200 and resp.json["assignee"]["id"] == emp.id
    assert api(mgr).post(f"/mentions/{m.id}/assign", json={"staff_id": 424242}).status_code == 422
    assert api(mgr).post(f"/mentions/{m.id}/assign", json={}).status_code == 422
    resp = api(mgr).post(f"/mentions/{m.id}/assign", json={"staff_id": None})
    assert resp.status_code == 200 and resp.json["assignee"] is None
    assert api(emp).post(f"/mentions/{m.id}/assign", json={"staff_id": emp.id}).status_code == 403
    with job_session(app) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == m.id))
        assert list(actions).count("mention.assigned") == 2


def test_status_moves_only_by_the_table_and_only_when_yours(make_staff, make_mention, api):
    emp, other = make_staff("employee"), make_staff("employee")
    m = make_mention()
    caller = api(emp)
    resp = caller.post(f"/mentions/{m.id}/status", json={"status": "closed"})
    assert resp.status_code == 422
    assert resp.json["error"]["message"] == "Claim this mention before changing it."
    caller.post(f"/mentions/{m.id}/claim")
    assert (
        caller.post(f"/mentions/{m.id}/status", json={"status": "pending"}).json["status"]
        == "pending"
    )
    resp = caller.post(f"/mentions/{m.id}/status", json={"status": "escalated"})
    assert resp.status_code == 422 and "cannot move to" in resp.json["error"]["message"]
    assert api(other).post(f"/mentions/{m.id}/status", json={"status": "open"}).status_code == 422
    assert caller.post(f"/mentions/{m.id}/status", json={"status": 7}).status_code == 422


def test_a_reply_goes_through_the_check_once(app, make_staff, make_mention, api):
    """The composer's path: checked, queued to send; the same POST again returns the same
    reply (200, outcome duplicate), never a second one."""
    emp = make_staff("employee")
    m = make_mention()
    caller = api(emp)
    caller.post(f"/mentions/{m.id}/claim")
    resp = caller.post(f"/mentions/{m.id}/replies", json={"text": PERSONAL})
    assert resp.status_code == 201, resp.json
    assert resp.json["outcome"] == "scheduled" and resp.json["decision"]["verdict"] == "allow"
    item = resp.json["item"]
    assert item["state"] == "scheduled" and item["mention_id"] == m.id
    again = caller.post(f"/mentions/{m.id}/replies", json={"text": PERSONAL})
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    assert again.json["item"]["id"] == item["id"]
    assert caller.get(f"/replies/{item['id']}").json["state"] == "scheduled"
    with job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(OutboundItem)) == 1


def test_a_blocked_reply_comes_back_with_its_decision(app, make_staff, make_mention, api):
    emp = make_staff("employee")
    m = make_mention()
    caller = api(emp)
    caller.post(f"/mentions/{m.id}/claim")
    resp = caller.post(
        f"/mentions/{m.id}/replies",
        json={"text": "Call me on 555-0100, my card is 4111 1111 1111 1111"},
    )
    assert resp.status_code == 422
    assert resp.json["outcome"] in ("blocked", "needs_confirmation")
    assert resp.json["decision"]["findings"]
    assert resp.json["error"]["message"] in (
        "This reply can't be sent as written; see why below.",
        "The check has suggestions. Edit, or confirm to send as is.",
    )
    with job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(OutboundItem)) == 0


def test_only_whoever_holds_the_mention_replies(make_staff, make_mention, api):
    emp = make_staff("employee")
    m = make_mention()
    resp = api(emp).post(f"/mentions/{m.id}/replies", json={"text": PERSONAL})
    assert resp.status_code == 422
    assert resp.json["error"]["message"] == "Claim this mention before replying to it."
    assert api(emp).post(f"/mentions/{m.id}/replies", json={}).status_code == 422


def test_a_reply_someone_else_sent_meanwhile_is_a_409(make_staff, make_mention, api):
    mgr, other = make_staff("manager"), make_staff("manager")
    m = make_mention()
    assert api(mgr).post(f"/mentions/{m.id}/replies", json={"text": PERSONAL}).status_code == 201
    text = "Hi! Just to add: you can also track it on our site with your order number."
    resp = api(other).post(f"/mentions/{m.id}/replies", json={"text": text})
    assert resp.status_code == 409 and "already replied" in resp.json["error"]["message"]
    ok = api(other).post(f"/mentions/{m.id}/replies", json={"text": text, "confirm_answered": True})
    assert ok.status_code == 201


def test_posts_are_made_through_the_check_and_are_the_authors(
    app, make_staff, make_mention, api, sandbox_account
):
    emp, other = make_staff("employee"), make_staff("employee")
    caller = api(emp)
    body = {"account_id": sandbox_account.id, "text": "Lovely morning run by the river."}
    resp = caller.post("/posts", json=body)
    assert resp.status_code == 201 and resp.json["outcome"] == "scheduled"
    post_id = resp.json["item"]["id"]
    assert caller.post("/posts", json=body).json["item"]["id"] == post_id  # sent once
    assert [p["id"] for p in caller.get("/posts").json["items"]] == [post_id]
    assert caller.get(f"/posts/{post_id}").json["kind"] == "post"
    resp = api(other).get(f"/posts/{post_id}")
    assert resp.status_code == 404 and resp.json["error"]["message"] == "No such post of yours."
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    scheduled = caller.post(
        "/posts", json=body | {"text": "Trail day tomorrow!", "schedule_at": later}
    )
    assert scheduled.status_code == 201 and scheduled.json["item"]["not_before"].startswith(
        later[:13]
    )
    bad = caller.post("/posts", json=body | {"schedule_at": "whenever"})
    assert bad.status_code == 422 and "Schedule for" in bad.json["error"]["message"]
    assert caller.post("/posts", json=body | {"account_id": 999}).status_code == 403


def test_decisions_list_by_period_and_verdict(app, make_staff, make_mention, api):
    comp, emp = make_staff("compliance"), make_staff("employee")
    with job_session(app) as s:
        for verdict in ("allow", "block", "review"):
            s.add(
                PolicyDecision(
                    author_id=emp.id,
                    text=verdict,
                    verdict=verdict,
                    pack_version="t",
                    findings=[],
                    platform="sandbox",
                )
            )
        s.add(
            PolicyDecision(
                author_id=emp.id,
                text="old",
                verdict="block",
                pack_version="t",
                findings=[],
                platform="sandbox",
                created_at=datetime.now(UTC) - timedelta(days=60),
            )
        )
    caller = api(comp)
    assert [d["text"] for d in caller.get("/decisions").json["items"]] == [
        "review",
        "block",
        "allow",
    ]
    assert [d["text"] for d in caller.get("/decisions?verdict=block").json["items"]] == ["block"]
    assert len(caller.get("/decisions?days=90&verdict=block").json["items"]) == 2
    page = caller.get("/decisions?limit=2").json
    rest = caller.get(f"/decisions?limit=2&before={page['next']}").json
    assert [d["text"] for d in page["items"] + rest["items"]] == ["review", "block", "allow"]
    one = caller.get(f"/decisions/{page['items'][0]['id']}").json
    assert one["verdict"] == "review" and one["author_id"] == emp.id
    for bad in ("verdict=maybe", "from=2026-13-01", "days=5", "before=x"):
        resp = caller.get(f"/decisions?{bad}")
        assert resp.status_code == 400 and resp.json["error"]["message"], bad


def test_customers_search_and_profile(make_staff, make_mention, api):
    m = make_mention("@KestrelFootwear where is my order?", handle="dana_k")
    make_mention("@KestrelFootwear hello", handle="someone")
    caller = api(make_staff("employee"))
    found = caller.get("/customers?q=dana").json["items"]
    assert [c["identities"][0]["handle"] for c in found] == ["dana_k"]
    assert caller.get("/customers?q=%25").json["items"] == []  # % is a character, not a wildcard
    assert caller.get("/customers?q=%5C").status_code == 200  # a lone backslash
    profile = caller.get(f"/customers/{m.customer_id}").json
    assert [r["id"] for r in profile["recent_mentions"]] == [m.id]
    resp = caller.get("/customers/999999")
    assert (
        resp.status_code == 404 and resp.json["error"]["message"] == "That customer does not exist."
    )
