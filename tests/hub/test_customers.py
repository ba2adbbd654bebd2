"""The customers pages: profile changes (audited), the blocklist, the mention sidebar's orders and
returns, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hub.customers.profiles import is_blocked
from hub.db import job_session
from hub.models import AuditEvent, Customer, CustomerIdentity, CustomerNote, Mention


@pytest.fixture
def dana(app: Any) -> dict[str, int]:
    """dana_kruger on X and Bluesky, with a mention naming her order KF-20481736 (in the
    sandbox shop's demo orders), one naming her expired order, and a stranger's mention."""
    with job_session(app) as s:
        c = Customer(display_name="Dana Krüger", tags=[])
        s.add(c)
        s.add(
            CustomerIdentity(customer=c, platform="x", platform_user_id="1", handle="dana_kruger")
        )
        s.add(
            CustomerIdentity(
                customer=c,
                platform="bluesky",
                platform_user_id="did:d",
                handle="danakruger.bsky.social",
            )
        )
        now = datetime.now(UTC)
        m = Mention(
            platform="x",
            external_id="d1",
            customer=c,
            author_handle="dana_kruger",
            text="@KestrelFootwear order KF-20481736 too small, size 10",
            created_at=now,
        )
        s.add(m)
        s.flush()
        return {"customer": c.id, "mention": m.id}


@pytest.fixture
def agent(client: Any, login: Any, make_staff: Any) -> Any:
    staff = make_staff("employee")
    login(client, staff)
    return staff


def _events(app: Any, action: str) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
        return rows


def test_the_profile_shows_identities_facts_orders_and_history(app, client, agent, dana):
    page = client.get(f"/customers/{dana['customer']}").text
    assert "@danakruger.bsky.social" in page and "@dana_kruger" in page
    assert "KF-20481736" in page and "Kestrel Cirrus Runner" in page  # from the store
    assert "size 10" in page and f"/mentions/{dana['mention']}" in page


@pytest.mark.parametrize(
    ("url", "form", "action", "check"),
    [
        ("tags", {"tag": "loyal"}, "customer.tagged", lambda c, s: c.tags == ["loyal"]),
        ("vip", {"vip": "yes"}, "customer.vip", lambda c, s: c.vip),
        ("block", {"blocked": "yes"}, "customer.blocked", lambda c, s: c.blocked),
        (
            "notes",
            {"note": "prefers DMs"},
            "customer.noted",
            lambda c, s: s.scalar(select(CustomerNote.text)) == "prefers DMs",
        ),
    ],
)
def test_each_change_is_made_and_audited(app, client, agent, dana, url, form, action, check):
    resp = client.post(f"/customers/{dana['customer']}/{url}", data=form)
    assert resp.status_code == 302
    with job_session(app) as s:
        assert check(s.get(Customer, dana["customer"]), s)
    [event] = _events(app, action)
    assert (event.actor_id, event.subject_id) == (agent.id, dana["customer"])


def test_a_tag_is_removed_and_a_missing_one_refused(app, client, agent, dana):
    client.post(f"/customers/{dana['customer']}/tags", data={"tag": "loyal"})
    client.post(f"/customers/{dana['customer']}/tags", data={"tag": "loyal", "action": "remove"})
    page = client.post(
        f"/customers/{dana['customer']}/tags",
        data={"tag": "loyal", "action": "remove"},
        follow_redirects=True,
    ).text
    assert "no such tag" in page
    assert len(_events(app, "customer.untagged")) == 1


@pytest.mark.parametrize("form", [{"tag": ""}, {"tag": "x" * 41}])
def test_a_bad_tag_is_refused_clearly(app, client, agent, dana, form):
    page = client.post(f"/customers/{dana['customer']}/tags", data=form, follow_redirects=True)
    assert page.status_code == 200 and "A tag has 1 to 40 characters" in page.text
    assert _events(app, "customer.tagged") == []


def _blocked(app: Any, customer_id: int | None) -> bool:
    with job_session(app) as s:
        return is_blocked(s, customer_id)


def test_blocked_customers_mentions_are_listed_and_flagged(app, client, agent, dana):
    assert not _blocked(app, dana["customer"])
    assert f"/mentions/{dana['mention']}" not in client.get("/customers/blocked").text
    client.post(f"/customers/{dana['customer']}/block", data={"blocked": "yes"})
    assert _blocked(app, dana["customer"])
    assert f"/mentions/{dana['mention']}" in client.get("/customers/blocked").text
    client.post(f"/customers/{dana['customer']}/block", data={"blocked": "no"})
    assert not _blocked(app, dana["customer"]) and not _blocked(app, None)


def test_search_finds_by_name_and_handle(app, client, agent, dana):
    assert "Dana Krüger" in client.get("/customers/?q=bsky.social").text
    assert "Dana Krüger" in client.get("/customers/?q=krüger").text
    assert "Dana Krüger" not in client.get("/customers/?q=nobody").text


def test_an_unknown_customer_is_a_404(client, agent):
    assert client.get("/customers/999999").status_code == 404
    assert client.post("/customers/999999/vip", data={"vip": "yes"}).status_code == 404
    assert client.post("/customers/1/merge", data={"other": "abc"}).status_code == 404


def test_the_mention_sidebar_shows_the_order_and_starts_a_return_once(app, client, agent, dana):
    page = client.get(f"/mentions/{dana['mention']}").text
    assert "KF-20481736" in page and "Start return" in page and "Move to DM" in page
    assert "ups.com/track" in page
    resp = client.post(
        f"/customers/mentions/{dana['mention']}/return",
        data={"order": "KF-20481736", "reason": "too small"},
        follow_redirects=True,
    )
    assert "Return R-" in resp.text and "started for order KF-20481736" in resp.text
    [event] = _events(app, "order.return_started")
    assert (event.actor_id, event.data["order"]) == (agent.id, "KF-20481736")
    again = client.post(
        f"/customers/mentions/{dana['mention']}/return",
        data={"order": "KF-20481736", "reason": "too small"},
        follow_redirects=True,
    )
    assert "already started" in again.text
    assert len(_events(app, "order.return_started")) == 1


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("KF-19027455", "more than 365 days ago"),  # dana's, delivered 415 days ago
        ("KF-20517290", "not this customer"),  # lupita's order
        ("", "not this customer"),
    ],
)
def test_a_return_is_refused_clearly(app, client, agent, dana, order, message):
    resp = client.post(
        f"/customers/mentions/{dana['mention']}/return",
        data={"order": order, "reason": "x"},
        follow_redirects=True,
    )
    assert message in resp.text.replace("&#39;", "'")
    assert _events(app, "order.return_started") == []


def test_linking_by_hand_from_the_profile(app, client, agent, dana):
    with job_session(app) as s:
        other = Customer(display_name="Dana")
        s.add(other)
        s.add(
            CustomerIdentity(customer=other, platform="sandbox", platform_user_id="dk", handle="dk")
        )
        s.flush()
        other_id = other.id
    client.post(f"/customers/{dana['customer']}/merge", data={"other": str(other_id)})
    with job_session(app) as s:
        assert s.get(Customer, other_id) is None
        ident = s.scalar(select(CustomerIdentity).where(CustomerIdentity.handle == "dk"))
        assert ident is not None and ident.customer_id == dana["customer"]
        ident_id = ident.id
    resp = client.post(f"/customers/identities/{ident_id}/unlink")
    with job_session(app) as s:
        moved = s.get(CustomerIdentity, ident_id)
        assert moved is not None and moved.customer_id != dana["customer"]
        assert resp.headers["Location"].endswith(f"/customers/{moved.customer_id}")


def test_cli_prints_the_profile_as_json(app, dana, monkeypatch):
    from click.testing import CliRunner

    import hub.cli

    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    result = CliRunner().invoke(
        hub.cli.main, ["customer", "show", "@DanaKruger.bsky.social", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"identities", "tags", "notes", "vip", "blocked", "facts", "orders"} <= set(data)
    assert {i["platform"] for i in data["identities"]} == {"x", "bluesky"}
    assert data["orders"][0]["number"] == "KF-20481736"
    assert any((f["kind"], f["value"]) == ("size", "10") for f in data["facts"])
    missing = CliRunner().invoke(hub.cli.main, ["customer", "show", "nobody", "--json"])
    assert missing.exit_code != 0 and "No customer" in missing.output


HOSTILE = "<script>alert('pwned')</script>"


def test_customer_text_is_rendered_inert(app, client, agent, dana):
    with job_session(app) as s:
        c = s.get(Customer, dana["customer"])
        c.display_name = HOSTILE
        c.tags = [HOSTILE]
        s.add(CustomerNote(customer_id=c.id, text=HOSTILE))
    for url in (f"/customers/{dana['customer']}", "/customers/", f"/mentions/{dana['mention']}"):
        page = client.get(url).text
        assert HOSTILE not in page and "&lt;script&gt;" in page, url


def test_cli_links_customers_who_gave_the_same_order_number(app, dana, monkeypatch):
    from click.testing import CliRunner

    import hub.cli

    with job_session(app) as s:
        other = Customer(display_name="D")
        s.add(other)
        s.add(
            CustomerIdentity(customer=other, platform="sandbox", platform_user_id="dk", handle="dk")
        )
        s.flush()
        s.add(
            Mention(
                platform="sandbox",
                external_id="s1",
                customer_id=other.id,
                author_handle="dk",
                text="is KF-20481736 shipped?",
                created_at=datetime.now(UTC),
            )
        )
        other_id = other.id
    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    result = CliRunner().invoke(hub.cli.main, ["customer", "link-certain"])
    assert result.exit_code == 0 and "1 customers merged" in result.output
    with job_session(app) as s:
        assert s.get(Customer, other_id) is None
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "customer.merged"))
        assert event.data["why"] == "same order KF-20481736"
