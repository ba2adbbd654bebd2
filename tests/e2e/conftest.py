"""Browser-test fixtures: a real `hub run` subprocess on the test database, and Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

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


def _wait_until_serving(
    base: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 120
) -> None:
    """Until the hub answers its sign-in page with 200. gunicorn's master listens before its
    worker has imported the app, so an open port alone is not a served page: on a loaded
    two-core machine a browser sent there at once could wait out its own 30 s timeout."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=10) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        assert time.monotonic() < deadline, f"the hub never served /login:\n{log.read_text()}"
        time.sleep(0.2)


@pytest.fixture
def hub_server(app, make_staff, tmp_path):  # type: ignore[no-untyped-def]
    """`hub run` in a subprocess on the test database, polling and sending every second."""
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
    _wait_until_serving(base, proc, tmp_path / "hub.log")
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


@pytest.fixture
def open_page():  # type: ignore[no-untyped-def]
    """open_page(**context_options): a page in a fresh Chromium context (a phone's viewport,
    a browser language); the browser closes at the end of the test."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def open_(**options: object) -> Page:
            return browser.new_context(**options).new_page()  # type: ignore[arg-type]

        yield open_
        browser.close()


def _reload_until(page: Page, selector: str, seconds: float = 40) -> None:
    deadline = time.time() + seconds
    while page.locator(selector).count() == 0:
        assert time.time() < deadline, f"{selector} never appeared on {page.url}"
        time.sleep(0.7)
        page.reload()


@pytest.fixture
def wait_until_serving():  # type: ignore[no-untyped-def]
    """wait_until_serving(base, proc, log): until a `hub run` subprocess serves its pages."""
    return _wait_until_serving


@pytest.fixture
def reload_until():  # type: ignore[no-untyped-def]
    """reload_until(page, selector, seconds=40): reload until the selector matches something."""
    return _reload_until


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save their screenshots: a temporary folder, so a test run leaves the
    tree clean; ``HUB_README_SCREENSHOTS=1`` writes the README's own (tests/e2e/screenshots)."""
    if os.environ.get("HUB_README_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
