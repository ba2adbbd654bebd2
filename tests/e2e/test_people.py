"""An admin invites a person in real Chromium; the person opens the link in their own browser,
sets a password, is signed in, and goes off duty from the header; the admin deactivates them
and their open page is signed out at its next click."""

from __future__ import annotations

from playwright.sync_api import expect

STRONG = "violet-harbour-kettle-93"


def test_invite_set_password_duty_and_deactivation(  # type: ignore[no-untyped-def]
    app, hub_server, page, make_staff, screenshots
):
    base, _manager = hub_server
    admin = make_staff("admin", name="Ada Admin", email="ada@example.test")
    page.goto(f"{base}/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")

    page.goto(f"{base}/people/new")
    page.fill("input[name='person-email']", "rosa@example.test")
    page.fill("input[name='person-name']", "Rosa Díaz")
    page.select_option("select[name='person-languages']", ["es", "en"])
    page.click("button:has-text('Invite (link)')")
    link = page.input_value("#invite-link")
    assert link.startswith(f"{base}/invite/")
    page.screenshot(path=str(screenshots / "invite.png"))

    # Rosa, in her own browser
    rosa = page.context.browser.new_context().new_page()
    rosa.goto(link)
    rosa.fill("input[name=new_password]", "password1234")
    rosa.fill("input[name=confirm_password]", "password1234")
    rosa.click("button[type=submit]")
    expect(rosa.locator("text=too easy to guess")).to_be_visible()
    rosa.fill("input[name=new_password]", STRONG)
    rosa.fill("input[name=confirm_password]", STRONG)
    rosa.click("button[type=submit]")
    expect(rosa.locator("text=Welcome, Rosa Díaz")).to_be_visible()
    rosa.click("header button:has-text('On duty')")
    expect(rosa.locator("header button:has-text('Off duty')")).to_be_visible()

    # the admin deactivates her; her open page is signed out at its next request
    page.goto(f"{base}/people/")
    page.click("text=Rosa Díaz")
    page.click("button:has-text('Deactivate')")
    expect(page.locator("text=is deactivated")).to_be_visible()
    rosa.goto(f"{base}/account/")
    expect(rosa.locator("h1:has-text('Sign in')")).to_be_visible()
