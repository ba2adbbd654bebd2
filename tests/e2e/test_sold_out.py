"""Sold out → where to buy, in real headless Chromium against a real `hub run` process.

A customer asks on the sandbox platform for a product that is sold out; the agent opens the
mention, sees the product sold out in the sidebar with one of ours in stock and another shop's,
inserts the lines with one click each (the live check runs on every insert), sends, and the
customer sees the reply with the other shop's link under their post.
"""

from __future__ import annotations

from playwright.sync_api import expect

from policies import LengthLimit, measure_length


def test_agent_answers_a_sold_out_question_with_an_alternative_and_a_competitor_link(  # type: ignore[no-untyped-def]
    hub_server, page, reload_until, screenshots
):
    base, manager = hub_server
    question = "@KestrelFootwear is the Cirrus Runner Wide coming back? I need an 11 for a marathon"
    competitor = "https://stridecompany.com/products/glide-4-wide"
    ours = "https://kestrelfootwear.com/p/cirrus-runner"

    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "wide_feet_wes")
    page.fill("input[name=display_name]", "Wes")
    page.fill("textarea[name=text]", question)
    page.click("text=Post as a customer")
    expect(page.locator(".thread li.in .text")).to_have_text(question)
    customer_thread = page.url

    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    reload_until(page, "tr[data-mention]")
    page.locator("tr[data-mention] a").first.click()

    panel = page.locator("#products")
    expect(panel.locator(".product.sold-out")).to_contain_text("Kestrel Cirrus Runner Wide")
    expect(panel.locator(".stock.out")).to_have_text("sold out")

    page.click("aside button:has-text('Claim')")
    expect(page.locator("#assignee")).to_have_text("Morgan Reyes")
    page.wait_for_load_state()  # htmx binds the live check before "load"
    expect(panel.locator(".offers.ours")).to_contain_text("Kestrel Cirrus Runner")
    expect(panel.locator(f".offers.elsewhere a[href='{competitor}']")).to_have_text(
        "Stride Glide 4 Wide"
    )

    reply = page.locator("#reply-text")
    reply.fill("Hi Wes!")
    # the first check of a fresh server loads the policy models: let it finish before inserting
    expect(page.locator("#check [data-verdict]")).to_be_attached(timeout=20_000)

    # each line goes in at the cursor, after what the agent typed, a space between
    lines = panel.locator(".suggestions li")
    lines.filter(has_text="is sold out right now").locator("button").click()
    lines.filter(has_text=ours).locator("button").click()
    lines.filter(has_text=competitor).locator("button").click()
    text = (
        "Hi Wes! Sorry, the Kestrel Cirrus Runner Wide is sold out right now. "
        f"The Kestrel Cirrus Runner is close and we have it ($129.95): {ours} "
        f"If you'd rather not wait, Stride & Co has the Stride Glide 4 Wide: {competitor}"
    )
    expect(reply).to_have_value(text)
    # the insert fired the live check (its length count is of the whole text, links counted as
    # the platform counts them): a recommendation of another shop is allowed (G8)
    count = measure_length(text, LengthLimit(280, "x_weighted", "Sandbox")).length
    expect(page.locator("#length-counter")).to_have_attribute("data-length", str(count))
    expect(page.locator("#check [data-verdict]")).to_have_attribute(
        "data-verdict", "allow", timeout=15_000
    )
    page.screenshot(path=str(screenshots / "sold-out.png"), full_page=True)

    page.click("button:has-text('Check and send')")
    expect(page.locator(".flash")).to_contain_text("on its way")

    page.goto(customer_thread)
    reload_until(page, ".thread li.out")
    published = page.locator(".thread li.out .text")
    expect(published).to_contain_text(competitor)
    expect(published).to_contain_text("Stride & Co has the Stride Glide 4 Wide")
    expect(page.locator(".thread li.out .who")).to_contain_text("@KestrelFootwear")
