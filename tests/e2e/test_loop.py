"""The whole loop in real headless Chromium against a real `hub run` process.

A customer posts on the sandbox platform; the hub's scheduler polls it into the queue; a
community manager signs in, claims it, replies; the policy engine checks the reply; the outbox
publishes it; the customer sees it under their post.
"""

from __future__ import annotations

from playwright.sync_api import expect


def test_mention_to_published_reply(hub_server, page, reload_until, screenshots):  # type: ignore[no-untyped-def]
    base, manager = hub_server
    text = "@KestrelFootwear my order was due Tuesday and tracking hasn't moved since Saturday"

    # the customer, on the sandbox platform
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "dana_k")
    page.fill("input[name=display_name]", "Dana K.")
    page.fill("textarea[name=text]", text)
    page.click("text=Post as a customer")
    expect(page.locator(".thread li.in .text")).to_have_text(text)
    customer_thread = page.url

    # the community manager, in the hub
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base}/queue")
    reload_until(page, "tr[data-mention]")
    row = page.locator("tr[data-mention]").first
    expect(row).to_contain_text("tracking hasn't moved")
    expect(row).to_contain_text("Care")  # routed by the demo rules
    page.screenshot(path=str(screenshots / "queue.png"), full_page=True)

    row.locator("a").first.click()
    page.click("aside button:has-text('Claim')")
    expect(page.locator("#assignee")).to_have_text("Morgan Reyes")
    page.wait_for_load_state()  # htmx binds the live check before "load"
    reply = (
        "Hi Dana, sorry for the wait! I checked and it's moving again: "
        "it should reach you Thursday. I'll keep an eye on it."
    )
    page.fill("textarea[name=text]", reply)
    expect(page.locator("#check [data-verdict]")).to_have_attribute(
        "data-verdict", "allow", timeout=15_000
    )
    page.click("button:has-text('Check and send')")
    expect(page.locator(".flash")).to_contain_text("on its way")

    # back to the customer: the reply is under their post
    page.goto(customer_thread)
    reload_until(page, ".thread li.out")
    expect(page.locator(".thread li.out .text")).to_have_text(reply)
    expect(page.locator(".thread li.out .who")).to_contain_text("@KestrelFootwear")


def test_blocked_reply_shows_the_findings(hub_server, page, reload_until):  # type: ignore[no-untyped-def]
    base, manager = hub_server
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "lee")
    page.fill("textarea[name=text]", "@KestrelFootwear do the Cirrus Runners run small?")
    page.click("text=Post as a customer")
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    reload_until(page, "tr[data-mention]")
    page.locator("tr[data-mention] a").first.click()
    page.click("aside button:has-text('Claim')")
    # the claim reloads the page: typing before it has would type into the page it replaces
    expect(page.locator("#assignee")).to_have_text("Morgan Reyes")
    page.wait_for_load_state()  # htmx binds the live check before "load"
    page.fill("textarea[name=text]", "Call the customer at 208-555-0143, they're an idiot")
    expect(page.locator("#check [data-verdict]")).to_have_attribute(
        "data-verdict", "block", timeout=15_000
    )
    expect(page.locator("#check mark").first).to_be_visible()
    page.click("button:has-text('Check and send')")
    expect(page.locator(".flash.error")).to_contain_text("can't be sent")
    expect(page.locator(".findings li").first).to_be_visible()
