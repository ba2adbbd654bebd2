"""A team lead signs in, opens the leaderboard from the performance page, and sees their team
ranked (real Chromium against a real `hub run`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select


def _seed_team(app, make_staff):  # type: ignore[no-untyped-def]
    """Care: lead Lena and agents Ana (3 replies, first answers in 5 and 30 min) and Ben (1 reply,
    first answer in 12 min); Dan in Sales sent 9 replies and must not appear."""
    from hub.db import job_session
    from hub.models import Mention, OutboundItem, PlatformAccount, Staff, Team

    people = {
        key: make_staff("employee", name=name, email=f"{key}@example.test")
        for key, name in (("lena", "Lena Lead"), ("ana", "Ana"), ("ben", "Ben"), ("dan", "Dan"))
    }
    now = datetime.now(UTC) - timedelta(hours=2)
    with job_session(app) as s:
        care = s.scalars(select(Team).where(Team.slug == "care")).one()
        sales = s.scalars(select(Team).where(Team.slug == "sales")).one()
        care.lead_id = people["lena"].id
        for key in ("lena", "ana", "ben"):
            s.get(Staff, people[key].id).team_id = care.id
        s.get(Staff, people["dan"].id).team_id = sales.id
        account = s.scalars(select(PlatformAccount)).first()
        n = 0
        for who, firsts, follow_ups in (("ana", [5, 30], 1), ("ben", [12], 0), ("dan", [], 9)):
            for minutes in firsts + [None] * follow_ups:
                n += 1
                first = now + timedelta(minutes=minutes or 1)
                m = Mention(
                    platform="sandbox",
                    external_id=f"lb-{n}",
                    account_id=account.id,
                    author_handle=f"c{n}",
                    text="hello",
                    created_at=now,
                    received_at=now,
                    first_response_due_at=now + timedelta(minutes=20),
                    first_response_at=first,
                )
                s.add(m)
                s.flush()
                s.add(
                    OutboundItem(
                        kind="reply",
                        account_id=account.id,
                        author_id=people[who].id,
                        mention_id=m.id,
                        text="thanks",
                        state="sent",
                        idempotency_key=f"lb-{n}",
                        sent_at=first if minutes else first + timedelta(minutes=30),
                    )
                )
    return people


def test_a_lead_opens_the_leaderboard(app, make_staff, hub_server, page, screenshots):  # type: ignore[no-untyped-def]
    base, _manager = hub_server
    people = _seed_team(app, make_staff)

    page.goto(f"{base}/login")
    page.fill("input[name=email]", people["lena"].email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    page.click("header nav a:has-text('Performance')")
    expect(page.locator("#table-teams")).to_contain_text("Care")
    page.screenshot(path=str(screenshots / "performance.png"), full_page=True)
    page.click(".perf-scope a:has-text('Leaderboard')")

    expect(page.locator("h1")).to_have_text("Care")
    replies = page.locator("#board-replies li")
    expect(replies).to_have_count(2)
    expect(replies.nth(0)).to_contain_text("Ana")
    expect(replies.nth(0).locator(".value")).to_have_text("3")
    expect(replies.nth(1)).to_contain_text("Ben")
    frt = page.locator("#board-frt li")  # Ben 12 min; Ana's median of 5 and 30 is 5 min
    expect(frt.nth(0)).to_contain_text("Ana")
    expect(frt.nth(1)).to_contain_text("Ben")
    sla = page.locator("#board-sla li")  # Ben 1 of 1 in time; Ana 1 of 2
    expect(sla.nth(0)).to_contain_text("Ben")
    expect(sla.nth(0).locator(".value")).to_have_text("100.0%")
    expect(page.locator("body")).not_to_contain_text("Dan")
    refresh = page.locator('meta[http-equiv="refresh"]')
    expect(refresh).to_have_attribute("content", "60")
    page.screenshot(path=str(screenshots / "leaderboard.png"), full_page=True)
