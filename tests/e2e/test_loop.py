"""The whole loop in real headless Chromium against a real `hub run` process.

A customer posts on the sandbox platform; the hub's scheduler polls it into the queue; a
community manager signs in, claims it, replies; the policy engine checks the reply; the outbox
publishes it; the customer sees it under their post.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub_server(app, make_staff, tmp_path):  # type: ignore[no-untyped-def]
    """`hub run` in a subprocess on the test database, polling and sending every second."""
    from hub.accounts import create_account
    from hub.db import job_session
    from hub.demo import demo_data, load_teams_and_rules

    with job_session(app) as s:
        load_teams_and_rules(s, demo_data())
        create_account(s, app, "sandbox", "KestrelFootwear", {"handle": "KestrelFootwear"})
    manager = make_staff("manager", name="Morgan Reyes", email="morgan@example.test")
    port = _free_port()
    env = dict(
        os.environ,
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_DATABASE_URL=app.config["DATABASE_URL"],
        HUB_SANDBOX_URL=app.config["SANDBOX_URL"],
        HUB_SECRET_KEY="e2e-secret",
        HUB_ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
        HUB_POLL_SECONDS="1",
        HUB_SEND_SECONDS="1",
    )
    with open(tmp_path / "hub.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "run", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "hub.log").read_text()
            time.sleep(0.2)
    yield base, manager
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        yield context.new_page()
        context.close()
        browser.close()


def _reload_until(page: Page, selector: str, seconds: float = 40) -> None:
    deadline = time.time() + seconds
    while page.locator(selector).count() == 0:
        assert time.time() < deadline, f"{selector} never appeared on {page.url}"
        time.sleep(0.7)
        page.reload()


def test_mention_to_published_reply(hub_server, page):  # type: ignore[no-untyped-def]
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
    _reload_until(page, "tr[data-mention]")
    row = page.locator("tr[data-mention]").first
    expect(row).to_contain_text("tracking hasn't moved")
    expect(row).to_contain_text("Care")  # routed by the demo rules
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    row.locator("a").first.click()
    page.click("aside button:has-text('Claim')")
    expect(page.locator("#assignee")).to_have_text("Morgan Reyes")
    reply = (
        "Hi Dana, sorry for the wait! I checked and it's moving again: "
        "it should reach you Thursday. I'll keep an eye on it."
    )
    page.fill("textarea[name=text]", reply)
    expect(page.locator("#check [data-verdict]")).to_have_attribute("data-verdict", "allow")
    page.click("button:has-text('Check and send')")
    expect(page.locator(".flash")).to_contain_text("on its way")

    # back to the customer: the reply is under their post
    page.goto(customer_thread)
    _reload_until(page, ".thread li.out")
    expect(page.locator(".thread li.out .text")).to_have_text(reply)
    expect(page.locator(".thread li.out .who")).to_contain_text("@KestrelFootwear")


def test_blocked_reply_shows_the_findings(hub_server, page):  # type: ignore[no-untyped-def]
    base, manager = hub_server
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "lee")
    page.fill("textarea[name=text]", "@KestrelFootwear do the Cirrus Runners run small?")
    page.click("text=Post as a customer")
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    _reload_until(page, "tr[data-mention]")
    page.locator("tr[data-mention] a").first.click()
    page.click("aside button:has-text('Claim')")
    page.fill("textarea[name=text]", "Call the customer at 208-555-0143, they're an idiot")
    expect(page.locator("#check [data-verdict]")).to_have_attribute("data-verdict", "block")
    expect(page.locator("#check mark").first).to_be_visible()
    page.click("button:has-text('Check and send')")
    expect(page.locator(".flash.error")).to_contain_text("can't be sent")
    expect(page.locator(".findings li").first).to_be_visible()
