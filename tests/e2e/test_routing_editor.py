"""A community manager writes a routing rule in real Chromium, previews it, saves and enables
it; a customer's post on the sandbox platform is then polled in, routed by that rule, and its
page says so."""

from __future__ import annotations

from playwright.sync_api import expect


def test_write_preview_enable_and_route(
    hub_server, page, reload_until, screenshots, app, make_staff
):  # type: ignore[no-untyped-def]
    from hub.db import job_session
    from hub.models import Staff, Team

    base, manager = hub_server
    # someone in Social who can take it: on duty, speaks English
    ana = make_staff("employee", name="Ana Social", languages=["en"])
    with job_session(app) as s:
        s.get(Staff, ana.id).team_id = s.query(Team).filter_by(slug="social").one().id
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")

    page.click("header nav a:has-text('Routing')")
    expect(page.locator("h1")).to_have_text("Routing rules")
    expect(page.locator("main")).to_contain_text("first enabled rule")
    page.click("text=New rule")
    page.fill("input[name='rule-name']", "Zippers")
    page.select_option("select[name='rule-position']", "1")
    page.fill("textarea[name='rule-c_keywords']", "zipper")
    page.select_option("select[name='rule-team']", label="Social")
    page.select_option("select[name='rule-priority']", "p1")
    page.fill("input[name='rule-tags']", "zip")
    page.select_option("select[name='rule-assignment']", "round_robin")

    page.click("button:has-text('Preview')")
    expect(page.locator("#preview .count")).to_contain_text("This rule would have matched 0 of")
    expect(page.locator("input[name='rule-name']")).to_have_value("Zippers")  # the draft is kept
    page.screenshot(path=str(screenshots / "routing-preview.png"), full_page=True)

    page.click("button:has-text('Save')")
    expect(page.locator(".flash")).to_contain_text("It is switched off")
    row = page.locator("tr[data-rule]").first
    expect(row).to_contain_text("Zippers")
    expect(row).to_contain_text("Any of these words: zipper")
    row.locator("button:has-text('Enable')").click()
    expect(page.locator(".flash")).to_contain_text("is on")
    expect(page.locator("tr[data-rule]").first.locator("button")).to_contain_text(["Disable"])
    page.screenshot(path=str(screenshots / "routing.png"), full_page=True)

    # a customer writes on the sandbox platform; the hub polls it in
    customer = page.context.browser.new_context().new_page()
    customer.goto(f"{base}/sandbox/")
    customer.fill("input[name=handle]", "zip_fan")
    customer.fill("textarea[name=text]", "@KestrelFootwear the zipper on my boots jammed")
    customer.click("text=Post as a customer")

    page.goto(f"{base}/queue")
    reload_until(page, "tr[data-mention]:has-text('zipper on my boots')")
    row = page.locator("tr[data-mention]:has-text('zipper on my boots')")
    expect(row).to_contain_text("Social")
    row.locator("a").first.click()
    expect(page.locator("#triage")).to_contain_text("Routed by Zippers because:")
    expect(page.locator("#triage")).to_contain_text('Word "zipper"')
    expect(page.locator("#triage")).to_contain_text("Tags: zip")
    expect(page.locator(".prio").first).to_have_text("p1")
    expect(page.locator("#assignee")).to_have_text("Ana Social")  # round robin gave it to her
