"""The live queue across processes, in real Chromium: a web-only `hub run --no-scheduler`
serves the page, a separate `hub poll --once` process ingests a customer's post into the same
database (SQLite, or PostgreSQL with HUB_TEST_DB=postgresql), and the open queue shows it within
2 seconds, without a reload. With rows ticked, the refresh only announces the new mention, the
ticks stay, and the bulk close acts on them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from connectors.sandbox import SandboxStore

#: the issue's promise: a new mention visible in an open queue within 2 s of ingest
LIVE_SECONDS = 2.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_only(
    app, make_staff, tmp_path, wait_until_serving
) -> Iterator[tuple[str, Any, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """`hub run --no-scheduler` (web only: it ingests nothing itself) on the test database,
    and the environment another `hub` process needs to reach the same database."""
    from hub.db import job_session
    from hub.demo import demo_data, load_teams_and_rules
    from hub.platforms.accounts import create_account

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
    )
    log = tmp_path / "hub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "run", "--no-scheduler", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, proc, log)
    yield base, manager, env
    proc.terminate()
    proc.wait(timeout=20)


def _ingest_elsewhere(env: dict[str, str], new: int = 1) -> float:
    """Poll the sandbox in another process (`hub poll --once`); the time it finished."""
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "poll", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f": {new} new," in done.stdout, done.stdout
    return time.monotonic()


def _committed_at(app: Any, text: str, proc: subprocess.Popen[str]) -> float:
    """When the other process's ingest became visible to a third party (this test's own
    connection, asked every 10 ms): the moment the 2 seconds start."""
    from hub.db import job_session
    from hub.models import Mention

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with job_session(app) as s:
            if s.scalar(select(Mention.id).where(Mention.text == text)) is not None:
                return time.monotonic()
        assert proc.poll() in (None, 0), proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the poller never ingested the post")


def _sign_in(page: Page, base: str, manager: Any) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base}/queue")


def test_a_mention_ingested_by_another_process_shows_within_two_seconds(app, web_only, page):  # type: ignore[no-untyped-def]
    base, manager, env = web_only
    store = SandboxStore(app.config["SANDBOX_URL"])
    _sign_in(page, base, manager)
    expect(page.locator("tr[data-mention]")).to_have_count(0)
    expect(page.locator("#counts .total")).to_have_text("0 mentions match")
    lags = []
    for n, (handle, words) in enumerate(
        [
            ("dana_k", "my parcel says delivered but it is not here"),
            ("lee", "do the Cirrus Runners run small?"),
            ("mo", "my refund never arrived"),
        ],
        start=1,
    ):
        text = f"@KestrelFootwear {words}"
        store.create_post(handle, text)
        poller = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "poll", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        committed = _committed_at(app, text, poller)
        row = page.locator("tr[data-mention]", has_text=words)
        expect(row).to_be_visible(timeout=LIVE_SECONDS * 1000)
        lags.append(time.monotonic() - committed)
        # the header counts came in the same swap as the row
        total = "1 mention matches" if n == 1 else f"{n} mentions match"
        expect(page.locator("#counts .total")).to_have_text(total, timeout=1)
        out, _err = poller.communicate(timeout=120)
        assert poller.returncode == 0, out
    print(f"ingest commit → row visible: {', '.join(f'{lag:.2f}' for lag in lags)} s")
    assert max(lags) <= LIVE_SECONDS


def test_ticked_rows_survive_a_refresh_and_are_closed_in_bulk(app, web_only, page, screenshots):  # type: ignore[no-untyped-def]
    base, manager, env = web_only
    store = SandboxStore(app.config["SANDBOX_URL"])
    for handle, text in [
        ("lee", "@KestrelFootwear do the Cirrus Runners run small?"),
        ("mo", "@KestrelFootwear my refund never arrived"),
        ("ines", "@KestrelFootwear ¿tienen la talla 39 en azul?"),
    ]:
        store.create_post(handle, text)
    _ingest_elsewhere(env, new=3)
    _sign_in(page, base, manager)
    expect(page.locator("tr[data-mention]")).to_have_count(3)
    expect(page.locator("#bulk button[value=close]")).to_be_disabled()

    runners = page.locator("tr[data-mention]", has_text="Cirrus Runners")
    refund = page.locator("tr[data-mention]", has_text="refund never arrived")
    runners.locator("input[name=ids]").check()
    refund.locator("input[name=ids]").check()
    expect(page.locator("#selected")).to_have_text("2 selected:")

    store.create_post("zoe", "@KestrelFootwear where do I send the return label?")
    _ingest_elsewhere(env)
    # the refresh does not replace the rows under the person's ticks: it announces the new one
    expect(page.locator(".new-bar")).to_contain_text("1 new mention", timeout=LIVE_SECONDS * 1000)
    expect(page.locator("tr[data-mention]")).to_have_count(3)
    expect(runners.locator("input[name=ids]")).to_be_checked()
    expect(refund.locator("input[name=ids]")).to_be_checked()
    page.screenshot(path=str(Path(screenshots) / "queue-bulk.png"), full_page=True)

    page.click("#bulk button[value=close]")
    expect(page.locator(".flash")).to_have_text("2 mentions closed.")
    # the reloaded page shows the new mention and the two closed ones gone from "needs action"
    expect(page.locator("tr[data-mention]")).to_have_count(2)
    expect(page.locator("tr[data-mention]", has_text="return label")).to_be_visible()
    expect(page.locator("#counts [data-status=closed]")).to_have_text("closed 2")


def test_select_all_ticks_the_page_and_tags_it(app, web_only, page):  # type: ignore[no-untyped-def]
    base, manager, env = web_only
    store = SandboxStore(app.config["SANDBOX_URL"])
    for i in range(3):
        store.create_post(f"cust{i}", f"@KestrelFootwear question {i} about sizes")
    _ingest_elsewhere(env, new=3)
    _sign_in(page, base, manager)
    expect(page.locator("tr[data-mention]")).to_have_count(3)
    page.check("#select-all")
    expect(page.locator("#rows input[name=ids]:checked")).to_have_count(3)
    page.fill("#bulk input[name=tag]", "sizing")
    page.press("#bulk input[name=tag]", "Enter")  # Enter in the tag field adds the tag
    expect(page.locator(".flash")).to_have_text("3 mentions tagged.")
    expect(page.locator("tr[data-mention] .tag", has_text="sizing")).to_have_count(3)
    # the tag filter, from the URL
    page.goto(f"{base}/queue?tag=SIZING&q=question+1")
    expect(page.locator("tr[data-mention]")).to_have_count(1)
