"""An employee's product post, from the composer to the sandbox platform, in real Chromium.

The employee writes a product post without the FTC disclosure and sees the finding; adds the
disclosure; is then over the 1-in-4 product limit, so the post is held for review; a compliance
officer approves it; the outbox publishes it on the sandbox platform.
"""

from __future__ import annotations

from playwright.sync_api import expect

PRODUCT_POST = (
    "Took my new Cirrus Runners out for a rainy 10k this morning and my feet stayed dry "
    "the whole way. kestrelfootwear.com/cirrus-runner"
)


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")


def test_product_post_disclosure_mix_review_publish(  # type: ignore[no-untyped-def]
    app, hub_server, page, make_staff, sent_posts, reload_until, screenshots
):
    from hub.db import job_session
    from hub.models import PlatformAccount

    base, _manager = hub_server
    employee = make_staff("employee", name="Riley Chen", email="riley@example.test")
    officer = make_staff("compliance", name="Casey Ortiz", email="casey@example.test")
    with job_session(app) as s:
        account_id = s.query(PlatformAccount.id).filter_by(platform="sandbox").scalar()
    sent_posts(employee.id, account_id, personal=4, product=1)

    # the employee writes a product post without saying they work at Kestrel
    _sign_in(page, base, employee.email)
    page.goto(f"{base}/posts/new")
    page.fill("#post-text", PRODUCT_POST)
    check = page.locator("#check [data-verdict]")
    expect(check).to_have_attribute("data-verdict", "review", timeout=15_000)
    expect(page.locator("#check .findings")).to_contain_text("G6")
    expect(page.locator("#check .findings")).to_contain_text("work here")
    expect(page.locator("#mix-meter")).to_contain_text("product")

    # adds the disclosure: the G6 finding goes, the mix limit (G7) remains
    page.fill("#post-text", PRODUCT_POST + " #KestrelEmployee")
    expect(page.locator("#check .findings")).not_to_contain_text("G6")
    expect(page.locator("#check .findings")).to_contain_text("G7")
    expect(page.locator("#mix-meter")).to_contain_text("2 of 6")
    page.screenshot(path=str(screenshots / "composer.png"), full_page=True)
    page.click("button:has-text('Post now')")
    expect(page.locator(".flash").first).to_contain_text("review")
    page.goto(f"{base}/posts/")
    expect(page.locator("main")).to_contain_text("Waiting for review")
    page.click("button:has-text('Sign out')")

    # compliance approves it
    _sign_in(page, base, officer.email)
    page.goto(f"{base}/review/")
    row = page.locator("main tr", has_text="Cirrus Runners").first
    expect(row).to_be_visible()
    page.screenshot(path=str(screenshots / "review.png"), full_page=True)
    row.locator("a").first.click()
    expect(page.locator("main")).to_contain_text("G7")
    page.click("button:has-text('Approve')")
    expect(page.locator(".flash").first).to_contain_text("pprov")

    # the post appears on the sandbox platform under the brand's name
    page.goto(f"{base}/sandbox/")
    reload_until(page, "text=#KestrelEmployee")
    expect(page.locator("main")).to_contain_text("Took my new Cirrus Runners")
