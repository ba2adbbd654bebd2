"""One answer per customer, in two real browsers against a real `hub run` process: two managers
press Claim on the same mention (the second is told who has it and offered Take over), one sees
the other writing, and Back + Send again publishes the reply once."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base}/queue")


def _brand_replies(app: Any) -> list[Any]:
    from connectors.sandbox import SandboxStore, posts

    store = SandboxStore(app.config["SANDBOX_URL"])
    with store.engine.connect() as conn:
        rows = conn.execute(select(posts).where(posts.c.author == "KestrelFootwear")).mappings()
        return list(rows)


def test_two_managers_claim_then_back_and_resend_publishes_once(  # type: ignore[no-untyped-def]
    app, hub_server, open_page, make_staff, reload_until
):
    base, morgan = hub_server
    ana = make_staff("manager", name="Ana Ruiz", email="ana@example.test")
    customer = open_page()
    customer.goto(f"{base}/sandbox/")
    customer.fill("input[name=handle]", "dana_k")
    customer.fill("textarea[name=text]", "@KestrelFootwear my parcel is stuck since Saturday")
    customer.click("text=Post as a customer")

    first, second = open_page(), open_page()  # two browser contexts: two people
    _sign_in(first, base, morgan.email)
    _sign_in(second, base, ana.email)
    reload_until(first, "tr[data-mention]")
    first.locator("tr[data-mention] a").first.click()
    second.goto(first.url)  # both have the mention open, unassigned

    first.click("aside button:has-text('Claim')")
    expect(first.locator("#assignee")).to_have_text("Morgan Reyes")
    first.wait_for_load_state()  # htmx binds the live check before "load"
    second.click("aside button:has-text('Claim')")
    expect(second.locator(".flash.error")).to_contain_text("Morgan Reyes has this mention since")
    expect(second.locator("#assignee")).to_have_text("Morgan Reyes")
    second.wait_for_load_state()  # htmx binds the live check before "load"
    expect(second.locator("#take-over-form button")).to_have_text("Take over")

    reply = "Hi Dana, sorry! It's moving again and should reach you on Thursday."
    first.fill("#reply-text", reply)  # the composer's heartbeat starts on typing
    expect(second.locator("#writers")).to_contain_text(
        "Morgan Reyes is writing a reply", timeout=25_000
    )
    expect(first.locator("#length-counter")).to_have_attribute("data-limit", "280")
    expect(first.locator("#check [data-verdict]")).to_have_attribute(
        "data-verdict", "allow", timeout=15_000
    )
    first.click("button:has-text('Check and send')")
    expect(first.locator(".flash.ok")).to_contain_text("on its way")

    first.go_back()  # Back to the composer, then Send again
    if first.locator("#reply-text").input_value() != reply:
        first.fill("#reply-text", reply)
    first.click("button:has-text('Check and send')")
    expect(first.locator(".flash.ok")).to_contain_text("You already sent this reply")

    deadline = time.time() + 30
    while not _brand_replies(app):
        assert time.time() < deadline, "the reply was never published"
        time.sleep(0.5)
    time.sleep(3)  # a few more send rounds: nothing else goes out
    assert [r["text"] for r in _brand_replies(app)] == [reply]
