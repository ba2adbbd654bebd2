"""Platform addresses an admin types: hostile ones are refused when an account is added (form and
CLI) and again before every connection (test connection, the scheduler's poll), with no
connection made and no credential sent; pages never show what a platform's server answered."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.db import job_session
from hub.models import PlatformAccount, utcnow


@pytest.fixture
def manager(client: Any, make_staff: Any, login: Any) -> Any:
    staff = make_staff("manager")
    login(client, staff)
    return staff


def _stored_account(app: Any, config: dict[str, Any], platform: str = "bluesky") -> int:
    """An account row as an older hub may have stored it, bypassing today's checks."""
    box = app.extensions["hub.secretbox"]
    with job_session(app) as s:
        row = PlatformAccount(
            platform=platform,
            handle="brand.test",
            config={"handle": "brand.test", **config},
            secrets_encrypted=box.seal({"app_password": "app-password-never-sent"}),
        )
        s.add(row)
        s.flush()
        return row.id


def _flash(html: str) -> str:
    start = html.find('<p class="flash')
    return html[start : html.find("</p>", start)]


HOSTILE = [
    "http://127.0.0.1:{port}/",
    "https://127.0.0.1:{port}/",
    "https://[::1]:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/",
    "https://10.0.0.1/",
    "https://0.0.0.0:{port}/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_stats",
    "ftp://127.0.0.1:{port}/",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_the_form_refuses_a_hostile_pds_address(
    app: Any, client: Any, manager: Any, listener: Any, connections: Any, template: str
) -> None:
    service = template.format(port=listener.getsockname()[1])
    resp = client.post(
        "/admin/accounts/",
        data={
            "platform": "bluesky",
            "handle": "brand.test",
            "bluesky-service": service,
            "bluesky-app_password": "app-password-never-sent",
        },
    )
    assert resp.status_code == 422
    assert "The PDS address" in _flash(resp.text)
    with job_session(app) as s:
        assert s.scalars(select(PlatformAccount)).all() == []
    assert connections.attempts == []
    assert listener.nobody_came()


def test_the_form_says_how_to_allow_a_local_platform(app: Any, client: Any, manager: Any) -> None:
    data = {"platform": "bluesky", "handle": "brand.test", "bluesky-app_password": "pw"}
    resp = client.post("/admin/accounts/", data=data | {"bluesky-service": "https://10.0.0.1"})
    assert "points to a private network" in resp.text
    assert "HUB_ALLOW_LOCAL_PLATFORMS" in resp.text
    resp = client.post("/admin/accounts/", data=data | {"bluesky-service": "gopher://10.0.0.1"})
    assert "must start with https://" in resp.text
    assert "HUB_ALLOW_LOCAL_PLATFORMS" not in resp.text  # no setting makes gopher fine


def test_the_form_names_every_problem_at_once(app: Any, client: Any, manager: Any) -> None:
    resp = client.post(
        "/admin/accounts/",
        data={"platform": "bluesky", "handle": " ", "bluesky-service": "gopher://10.0.0.1"},
    )
    assert resp.status_code == 422
    flash = _flash(resp.text)
    assert "Give the account&#39;s handle." in flash
    assert "The PDS address must start with https://." in flash


def test_the_form_refuses_the_x_api_base_alike(app: Any, client: Any, manager: Any) -> None:
    secrets = {
        f"x-{name}": "s3cret-value"
        for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    }
    resp = client.post(
        "/admin/accounts/",
        data={"platform": "x", "handle": "brand", "x-api_base": "http://169.254.169.254"} | secrets,
    )
    assert resp.status_code == 422
    assert "API base URL" in resp.text and "must start with https://" in resp.text


@pytest.mark.parametrize(
    ("service", "accepted"),
    [
        ("http://127.0.0.1:9", True),
        ("https://192.168.1.20", True),
        ("http://192.168.1.20", False),  # plain http only to this machine
        ("https://169.254.169.254", False),  # metadata stays refused
    ],
)
def test_local_platforms_are_allowed_by_the_hub_setting(
    app: Any, client: Any, manager: Any, connections: Any, service: str, accepted: bool
) -> None:
    app.config["ALLOW_LOCAL_PLATFORMS"] = True
    resp = client.post(
        "/admin/accounts/",
        data={
            "platform": "bluesky",
            "handle": "brand.test",
            "bluesky-service": service,
            "bluesky-app_password": "pw",
        },
    )
    assert resp.status_code == (302 if accepted else 422)
    assert connections.attempts == []  # adding an account connects to nothing


def test_the_cli_refuses_a_hostile_address(
    app: Any, monkeypatch: pytest.MonkeyPatch, connections: Any
) -> None:
    import hub.cli

    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    result = CliRunner().invoke(
        hub.cli.main,
        [
            "add-account",
            "--platform",
            "bluesky",
            "--handle",
            "brand.test",
            "--set",
            "service=http://169.254.169.254",
        ],
        input="app-password\n",
    )
    assert result.exit_code == 1
    assert "The PDS address must start with https://" in result.output
    with job_session(app) as s:
        assert s.scalars(select(PlatformAccount)).all() == []
    assert connections.attempts == []


@pytest.mark.parametrize(
    "config",
    [
        {"service": "http://127.0.0.1:{port}"},
        {"service": "https://169.254.169.254"},
        {"service": "gopher://127.0.0.1:{port}/_x"},
        # an account can't allow itself what the hub does not
        {"service": "http://127.0.0.1:{port}", "allow_local_network": True},
    ],
)
def test_a_stored_hostile_address_is_refused_before_connecting(
    app: Any,
    client: Any,
    manager: Any,
    listener: Any,
    connections: Any,
    config: dict[str, Any],
) -> None:
    port = listener.getsockname()[1]
    account_id = _stored_account(
        app, {k: v.format(port=port) if isinstance(v, str) else v for k, v in config.items()}
    )
    # "Test connection" on the accounts page
    resp = client.post(f"/admin/accounts/{account_id}/test", follow_redirects=True)
    assert resp.status_code == 200
    assert "The connection test failed: The PDS address" in _flash(resp.text)
    # the scheduler's poll
    from hub.platforms.polling import poll_account

    outcome = poll_account(app, account_id)
    assert outcome.result is None and outcome.error and "The PDS address" in outcome.error
    with job_session(app) as s:
        row = s.get(PlatformAccount, account_id)
        assert row is not None and row.last_error is not None
        assert row.last_error.startswith("UnsafeAddress: The PDS address")
        assert row.next_poll_at is not None
        assert (row.next_poll_at - utcnow()).total_seconds() > 3000  # a person must fix it
    assert connections.attempts == []
    assert listener.nobody_came()


class _Pds(http.server.BaseHTTPRequestHandler):
    status = 400
    body = b""

    def do_POST(self) -> None:
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pds() -> Iterator[Callable[[int, bytes], str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pds)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def configure(status: int, body: bytes) -> str:
        _Pds.status, _Pds.body = status, body
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield configure
    server.shutdown()
    server.server_close()
    thread.join()


LEAK = "AKIAEXAMPLESECRETKEY"


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (400, b'{"error":"InvalidRequest","message":"' + LEAK.encode() + b'"}', "HTTP 400"),
        (401, b'{"error":"' + LEAK.encode() + b'","message":"' + LEAK.encode() + b'"}', ""),
        (404, b"<html>" + LEAK.encode() + b"</html>", "HTTP 404"),
        (409, b'{"error":"Conflict","message":"' + LEAK.encode() + b'"}', "HTTP 409"),
        (500, LEAK.encode(), "server error (500)"),
    ],
)
def test_the_test_connection_page_never_shows_what_the_server_said(
    app: Any,
    client: Any,
    manager: Any,
    pds: Callable[[int, bytes], str],
    status: int,
    body: bytes,
    said: str,
) -> None:
    app.config["ALLOW_LOCAL_PLATFORMS"] = True  # the stub PDS is on this machine
    account_id = _stored_account(app, {"service": pds(status, body)})
    html = client.post(f"/admin/accounts/{account_id}/test", follow_redirects=True).text
    flash = _flash(html)
    assert flash.startswith('<p class="flash error"')
    assert said in flash
    assert LEAK not in html
