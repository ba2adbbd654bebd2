"""A recurring demo customer writes again; the agent sees their order beside the mention and
starts a return, which the store records."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from connectors.store.sandbox import SandboxShop
from hub.customers.orders import STATE_FILE
from hub.db import job_session
from hub.demo import demo_data
from hub.models import Customer, CustomerIdentity


def _recurring_customer(app, handle: str) -> None:  # type: ignore[no-untyped-def]
    """The demo customer as the demo loads them: the sandbox identity and their earlier ones."""
    c = next(c for c in demo_data()["customers"] if c["handle"] == handle)
    with job_session(app) as s:
        customer = Customer(display_name=c["name"], tags=["demo"])
        s.add(customer)
        s.add(
            CustomerIdentity(
                customer=customer, platform="sandbox", platform_user_id=handle, handle=handle
            )
        )
        for h in {(h["platform"], h["handle"]) for h in c["history"]}:
            s.add(
                CustomerIdentity(
                    customer=customer, platform=h[0], platform_user_id=f"demo:{h[1]}", handle=h[1]
                )
            )


def test_agent_starts_a_return_from_the_mention(
    app, hub_server, page, reload_until, tmp_path, screenshots
):  # type: ignore[no-untyped-def]
    base, manager = hub_server
    _recurring_customer(app, "dana_kruger")
    text = "@KestrelFootwear the Cirrus from order KF-20481736 is too small, can I send it back?"

    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "dana_kruger")
    page.fill("input[name=display_name]", "Dana Krüger")
    page.fill("textarea[name=text]", text)
    page.click("text=Post as a customer")

    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    reload_until(page, "tr[data-mention]")
    page.locator("tr[data-mention]").first.locator("a").first.click()

    panel = page.locator(".customer-panel")
    expect(panel).to_contain_text("Dana Krüger")
    order = panel.locator("li.order[data-order='KF-20481736']")
    expect(order).to_contain_text("Kestrel Cirrus Runner")
    expect(order).to_contain_text("delivered")
    expect(order.locator("a[href*='ups.com']")).to_be_visible()
    expect(panel).to_contain_text("Move to DM")
    order.locator("input[name=reason]").fill("too small")
    order.locator("button:has-text('Start return')").click()

    expect(page.locator(".flash")).to_contain_text("started for order KF-20481736")
    recorded = page.locator(".customer-panel li.order[data-order='KF-20481736'] .return-recorded")
    expect(recorded).to_contain_text("Return started: R-")
    page.screenshot(path=str(screenshots / "customer-return.png"), full_page=True)
    # asking for the order number they gave is caught while typing
    if page.locator("button:has-text('Claim')").count():
        # the claim reloads the page: type into the new one, not the one going away
        with page.expect_navigation():
            page.click("button:has-text('Claim')")
    with page.expect_response(lambda r: "/compose/check" in r.url, timeout=30_000):
        page.fill("#reply-text", "So sorry! Could you DM us your order number so we can check?")
    warning = page.locator("#check li.warn", has_text="Don't ask twice")
    expect(warning).to_contain_text("KF-20481736")
    orders = Path(__file__).resolve().parents[2] / "hub" / "store_demo.json"
    shop = SandboxShop(orders, tmp_path / "instance" / STATE_FILE)
    assert [(r["order_number"], r["reason"]) for r in shop.returns()] == [
        ("KF-20481736", "too small")
    ]
    # the customer's profile shows both platforms of the demo history
    page.goto(f"{base}/customers/")
    page.click("text=Dana Krüger")
    expect(page.locator(".identities")).to_contain_text("@danakruger.bsky.social")
    expect(page.locator(".identities")).to_contain_text("@dana_kruger")
