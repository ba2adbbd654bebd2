"""The platforms wing without any real platform: a fourth one added by configuration alone.

The "echo" platform below lives in a module of its own, outside hub/ and connectors/; naming
it in PLATFORMS is all it takes for the hub to offer it, build its connector (with the hub
setting it asks for) and run its push stream.
"""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

import policies
from connectors.base import REGISTRY, StreamingConnector
from hub.db import job_session
from hub.models import Mention, PlatformAccount
from hub.platforms.accounts import (
    NewAccount,
    account_fields,
    add_account,
    available_platforms,
    create_account,
    replace_credentials,
)
from hub.platforms.present import account_statuses, push_health
from hub.platforms.push import can_push, consume_stream
from hub.platforms.registry import (
    connector_class,
    connector_for,
    init_app,
    load_platforms,
    release_connector,
    supports_streaming,
)
from hub.publishing.compose import platform_limit

ECHO_MODULE = "hub_tests_echo_platform"
ECHO_SOURCE = '''
"""A fourth platform for the tests: one scripted mention, pushed and never polled."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base import Author, Batch, Connector, IncomingMention, Limits, Published, register


@register("echo")
class EchoConnector(Connector):
    platform = "echo"
    limits = Limits(500, "characters")
    host_settings = {"greeting": "ECHO_GREETING"}
    built: list[EchoConnector] = []

    def __init__(self, config, secrets, state=None, on_state_change=None):
        self.config = dict(config)
        self.secrets = dict(secrets)
        self.closed = False
        EchoConnector.built.append(self)

    @classmethod
    def configuration_schema(cls):
        return {
            "handle": {"label": "Handle"},
            "room": {"label": "Room", "required": True},
            "token": {"label": "Token", "secret": True, "required": True},
        }

    def verify(self):
        return self.config["handle"]

    def fetch_mentions(self, cursor):
        return Batch([], cursor)

    def publish(self, request):
        return Published("1")

    def close(self):
        self.closed = True

    def stream_mentions(self, on_mention, stop_event, on_connect=None):
        if on_connect is not None:
            on_connect()
        on_mention(
            IncomingMention(
                platform="echo",
                external_id="echo-1",
                author=Author(platform_id="c1", handle="kim"),
                text="@brand hello from echo",
                created_at=datetime.now(UTC),
            )
        )
        stop_event.wait()
'''


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The echo module on the path (imported by the hub, not here); gone after this file."""
    folder = tmp_path_factory.mktemp("echo")
    (folder / f"{ECHO_MODULE}.py").write_text(textwrap.dedent(ECHO_SOURCE))
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    REGISTRY.pop("echo", None)
    sys.modules.pop(ECHO_MODULE, None)


@pytest.fixture
def echo_app(app: Any, echo: Any) -> Any:
    """The test app with echo added to PLATFORMS, loaded as create_app loads it."""
    app.config["PLATFORMS"] = [*app.config["PLATFORMS"], ECHO_MODULE]
    app.config["ECHO_GREETING"] = "hello from the hub"
    init_app(app)
    return app


def _echo_account(app: Any, **config: str) -> int:
    with job_session(app) as s:
        account = create_account(
            s, app, "echo", "brand", {"handle": "brand", "room": "lobby", **config}, {"token": "t"}
        )
        return account.id


def _load(app: Any, account_id: int) -> PlatformAccount:
    with job_session(app) as s:
        row = s.get(PlatformAccount, account_id)
        assert row is not None
        s.expunge(row)
    return row


def _wait(what: str, probe: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_default_platforms_are_loaded(app: Any) -> None:
    assert {"sandbox", "x", "bluesky"} <= set(available_platforms())
    assert supports_streaming("bluesky")
    assert not supports_streaming("sandbox") and not supports_streaming("x")
    assert not supports_streaming("myspace")


def test_a_fourth_platform_needs_only_its_module_in_platforms(echo_app: Any) -> None:
    assert "echo" in available_platforms()
    # no display name declared: messages use the name it registered under
    assert platform_limit("echo") == policies.LengthLimit(500, "characters", "echo")
    assert [(f.name, f.secret, f.required) for f in account_fields("echo")] == [
        ("room", False, True),
        ("token", True, True),
    ]
    with job_session(echo_app) as s:  # as the accounts page adds it
        account_id = add_account(
            s, echo_app, NewAccount("echo", "@brand", {"room": "lobby"}, {"token": "t0k3n"})
        ).id
    connector = connector_for(echo_app, _load(echo_app, account_id))
    assert connector.config == {  # type: ignore[attr-defined]
        "handle": "brand",
        "room": "lobby",
        "greeting": "hello from the hub",  # the hub setting the connector asked for
        "allow_local_network": False,  # every connector is told HUB_ALLOW_LOCAL_PLATFORMS
    }
    assert connector.secrets == {"token": "t0k3n"}  # type: ignore[attr-defined]
    assert isinstance(connector, StreamingConnector) and supports_streaming("echo")


def test_an_account_setting_beats_the_hub_setting(echo_app: Any) -> None:
    account_id = _echo_account(echo_app, greeting="our own")
    connector = connector_for(echo_app, _load(echo_app, account_id))
    assert connector.config["greeting"] == "our own"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "why"),
    [
        (None, "No module named"),
        ("raise RuntimeError('the SDK is broken')", "the SDK is broken"),
    ],
    ids=["missing", "broken"],
)
def test_a_platform_that_fails_to_import_is_logged_and_skipped(
    app: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    source: str | None,
    why: str,
) -> None:
    name = f"hub_tests_unloadable_{'missing' if source is None else 'broken'}"
    if source is not None:
        (tmp_path / f"{name}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
    before = available_platforms()
    with caplog.at_level(logging.WARNING, logger="hub.platforms.registry"):
        load_platforms([name])
        load_platforms([name])  # tried once: no second import, no second warning
    warnings = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1 and why in warnings[0]
    assert available_platforms() == before
    with pytest.raises(KeyError):
        connector_class("unloadable")


def test_a_connector_imported_by_someone_else_is_not_a_hub_platform(
    app: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a connector registers itself whenever its module is imported; the hub offers only those
    # of the modules PLATFORMS names
    (tmp_path / "hub_tests_rogue_platform.py").write_text(
        ECHO_SOURCE.replace('"echo"', '"rogue"').replace("EchoConnector", "RogueConnector")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hub_tests_rogue_platform", raising=False)
    try:
        importlib.import_module("hub_tests_rogue_platform")
        assert "rogue" in REGISTRY
        assert "rogue" not in available_platforms()
        with pytest.raises(ValueError, match="unknown platform"), job_session(app) as s:
            create_account(s, app, "rogue", "brand")
    finally:
        REGISTRY.pop("rogue", None)


def test_a_fourth_platform_streams_through_the_hub(echo_app: Any) -> None:
    account_id = _echo_account(echo_app)
    assert push_health(_load(echo_app, account_id)) == "push: not started"
    stop = threading.Event()
    pushed: list[bool] = []
    thread = threading.Thread(
        target=consume_stream,
        args=(echo_app, account_id, stop, lambda mention, new: pushed.append(new)),
    )
    thread.start()
    try:
        _wait("the pushed mention", lambda: pushed == [True])
        _wait(
            "the stream to be reported connected",
            lambda: push_health(_load(echo_app, account_id)).startswith("push: connected since"),
        )
        with job_session(echo_app) as s:
            stored = s.scalars(select(Mention.external_id).where(Mention.platform == "echo"))
            assert stored.all() == ["echo-1"]
        streaming = connector_for(echo_app, _load(echo_app, account_id))
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    account = _load(echo_app, account_id)
    assert account.cursor is None  # push never moves the poll cursor
    health = push_health(account)
    assert health.startswith("push: disconnected since"), health
    assert health.endswith("(the hub stopped the stream)")
    # the status lives in its own columns: recording it rebuilt no connector and closed none
    assert connector_for(echo_app, account) is streaming and not streaming.closed  # type: ignore[attr-defined]
    rows = {r.account.platform: r for r in account_statuses_of(echo_app)}
    assert rows["echo"].push == health


def account_statuses_of(app: Any) -> list[Any]:
    """The accounts page's rows, read in a session of their own."""
    with job_session(app) as s:
        rows = account_statuses(s)
        for row in rows:
            s.expunge(row.account)
    return rows


def test_the_accounts_page_shows_push_only_for_platforms_that_stream(
    echo_app: Any, sandbox_account: Any
) -> None:
    _echo_account(echo_app)
    rows = {r.account.platform: r for r in account_statuses_of(echo_app)}
    assert rows["sandbox"].push == ""
    assert rows["echo"].push == "push: not started"


@pytest.mark.parametrize(
    ("config", "active", "pushes"),
    [
        ({}, True, True),
        ({"push": "false"}, True, False),
        ({"push": "off"}, True, False),
        ({"push": "yes"}, True, True),
        ({}, False, False),
    ],
)
def test_push_runs_for_active_accounts_unless_switched_off(
    echo_app: Any, config: dict[str, str], active: bool, pushes: bool
) -> None:
    account = _load(echo_app, _echo_account(echo_app, **config))
    account.active = active
    assert can_push(account) is pushes
    assert push_health(account) == ("push: not started" if pushes else "push: off")


def test_a_replaced_connector_is_closed_when_its_stream_lets_go(echo_app: Any) -> None:
    account_id = _echo_account(echo_app)
    old = connector_for(echo_app, _load(echo_app, account_id))
    release_connector(echo_app, account_id, old)
    assert not old.closed  # type: ignore[attr-defined]  # still the one connector_for hands out
    with job_session(echo_app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        replace_credentials(s, echo_app, account, {"token": "new"})
    new = connector_for(echo_app, _load(echo_app, account_id))
    assert new is not old
    release_connector(echo_app, account_id, old)
    assert old.closed  # type: ignore[attr-defined]
    assert not new.closed  # type: ignore[attr-defined]
