"""The address guard (connectors/outbound.py): hostile platform addresses are refused before any
connection is made, through the Bluesky and X connectors too (redirects, the firehose, a saved
session's endpoint), and a server's own words never reach an error message."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.base import Rejected, Transient
from connectors.bluesky import BlueskyConnector
from connectors.outbound import (
    ALLOW_LOCAL_NETWORK,
    AddressPolicy,
    GuardedTransport,
    UnsafeAddress,
    classify,
)
from connectors.x import XConnector

STRICT = AddressPolicy(allow_local=False)
LOCAL = AddressPolicy(allow_local=True)
#: a service address the test never reaches (TEST-NET-1; the guard would refuse it anyway)
NEVER_USED = "https://192.0.2.10"


# --- which addresses are which ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", ("this machine", True)),
        ("127.8.9.10", ("this machine", True)),
        ("::1", ("this machine", True)),
        ("::ffff:127.0.0.1", ("this machine", True)),
        ("10.1.2.3", ("a private network", True)),
        ("172.16.0.1", ("a private network", True)),
        ("192.168.1.1", ("a private network", True)),
        ("100.64.0.1", ("a private network", True)),
        ("fd12:3456::1", ("a private network", True)),
        ("fec0::1", ("a private network", True)),
        ("169.254.169.254", ("a link-local address", False)),
        ("::ffff:169.254.169.254", ("a link-local address", False)),
        ("64:ff9b::a9fe:a9fe", ("a link-local address", False)),
        ("2002:a9fe:a9fe::1", ("a link-local address", False)),
        ("fe80::1", ("a link-local address", False)),
        ("fd00:ec2::254", ("a cloud metadata service", False)),
        ("100.100.100.200", ("a cloud metadata service", False)),
        ("192.0.0.192", ("a cloud metadata service", False)),
        ("224.0.0.1", ("a multicast address", False)),
        ("ff02::1", ("a multicast address", False)),
        ("0.0.0.0", ("an unspecified address", False)),
        ("0.1.2.3", ("an unspecified address", False)),
        ("::", ("an unspecified address", False)),
        ("240.0.0.1", ("a reserved address", False)),
        ("255.255.255.255", ("a reserved address", False)),
    ],
)
def test_addresses_are_classified(address: str, expected: tuple[str, bool] | None) -> None:
    assert classify(ipaddress.ip_address(address)) == expected


# --- URLs refused before any connection ---------------------------------------------------------


@pytest.fixture
def metadata_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A host name that resolves to the cloud metadata address (as a rebinding name would)."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "metadata.attacker.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return "metadata.attacker.test"


HOSTILE = [
    # (url, refused even when local platforms are allowed)
    ("file:///etc/passwd", True),
    ("gopher://127.0.0.1:{port}/_INFO", True),
    ("ftp://127.0.0.1:{port}/", True),
    ("dict://127.0.0.1:{port}/", True),
    ("http://169.254.169.254/latest/meta-data/", True),
    ("https://169.254.169.254/latest/meta-data/", True),
    ("https://[::ffff:169.254.169.254]/", True),
    ("https://{metadata}/", True),
    ("https://[fd00:ec2::254]/", True),
    ("https://0.0.0.0:{port}/", True),
    ("https://224.0.0.1/", True),
    ("http://user:pw@127.0.0.1:{port}/", True),
    ("http://10.0.0.1/", True),  # plain http only to this machine, even when allowed
    ("http://127.0.0.1:{port}/", False),
    ("https://127.0.0.1:{port}/", False),
    ("https://2130706433:{port}/", False),  # 127.0.0.1 as one decimal number
    ("https://localhost:{port}/", False),
    ("https://[::1]:{port}/", False),
    ("https://10.0.0.1/", False),
    ("https://192.168.1.1/", False),
]


@pytest.mark.parametrize(("template", "always"), HOSTILE)
def test_hostile_urls_are_refused_without_a_connection(
    template: str,
    always: bool,
    listener: Any,
    metadata_name: str,
    connections: Any,
) -> None:
    url = template.format(port=listener.getsockname()[1], metadata=metadata_name)
    with pytest.raises(UnsafeAddress):
        STRICT.check_url(url, "https", "PDS address")
    if always:
        with pytest.raises(UnsafeAddress):
            LOCAL.check_url(url, "https", "PDS address")
    else:
        LOCAL.check_url(url, "https", "PDS address")  # allowed for local platforms
    assert connections.attempts == []
    assert listener.nobody_came()


def test_refusals_say_why_in_words() -> None:
    with pytest.raises(UnsafeAddress, match="^The PDS address must start with https://.$"):
        STRICT.check_url("gopher://example.test/", "https", "PDS address")
    with pytest.raises(UnsafeAddress, match="points to a link-local address") as caught:
        LOCAL.check_url("https://169.254.169.254/", "https", "PDS address")
    assert caught.value.local is False
    with pytest.raises(UnsafeAddress, match="points to this machine") as caught:
        STRICT.check_url("https://127.0.0.1/", "https", "PDS address")
    assert caught.value.local is True  # the allowance would permit it
    with pytest.raises(UnsafeAddress, match="must start with wss://"):
        STRICT.check_url("ws://127.0.0.1/", "wss", "firehose address")


def test_an_unknown_host_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    def nxdomain(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    with pytest.raises(Transient, match="Could not find the host of the PDS address"):
        STRICT.check_url("https://no-such-host.invalid/", "https", "PDS address")


def test_the_policy_comes_from_the_host_only_when_it_says_true() -> None:
    assert AddressPolicy.from_config({}) == STRICT
    assert AddressPolicy.from_config({ALLOW_LOCAL_NETWORK: "true"}) == STRICT
    assert AddressPolicy.from_config({ALLOW_LOCAL_NETWORK: True}) == LOCAL


def test_the_transport_still_replaces_httpx_s_own_pool() -> None:
    """GuardedTransport swaps the pool httpx built; if httpx renames it, this fails."""
    transport = GuardedTransport(STRICT, "PDS address")
    assert type(transport._pool._network_backend).__name__ == "_GuardedBackend"  # type: ignore[attr-defined]
    transport.close()


# --- through the Bluesky connector --------------------------------------------------------------


def _bluesky(service: str, allow_local: bool = False, **config: Any) -> BlueskyConnector:
    return BlueskyConnector(
        {"handle": "brand.test", "service": service, ALLOW_LOCAL_NETWORK: allow_local, **config},
        {"app_password": "app-password-never-sent"},
    )


@pytest.mark.parametrize(("template", "always"), HOSTILE)
def test_bluesky_never_sends_credentials_to_a_hostile_pds(
    template: str,
    always: bool,
    listener: Any,
    metadata_name: str,
    connections: Any,
) -> None:
    url = template.format(port=listener.getsockname()[1], metadata=metadata_name)
    connector = _bluesky(url)
    with pytest.raises(UnsafeAddress):
        connector.verify()  # signs in with the app password: the first thing sent anywhere
    connector.close()
    assert connections.attempts == []
    assert listener.nobody_came()


def test_a_saved_session_pointing_elsewhere_is_checked_too(listener: Any, connections: Any) -> None:
    """The SDK switches to the endpoint a session names; a stored one is checked like any."""
    port = listener.getsockname()[1]
    connector = BlueskyConnector(
        {"handle": "brand.test", "service": NEVER_USED},
        {"app_password": "x"},
        state={"session": _saved_session(f"http://127.0.0.1:{port}")},
    )
    with pytest.raises(UnsafeAddress, match="PDS address must start with https://"):
        connector.fetch_mentions(None)
    connector.close()
    assert connections.attempts == []
    assert listener.nobody_came()


def test_the_firehose_address_is_checked_before_connecting(listener: Any, connections: Any) -> None:
    port = listener.getsockname()[1]
    for firehose in (f"ws://127.0.0.1:{port}/xrpc", "wss://169.254.169.254/xrpc"):
        connector = BlueskyConnector(
            {"handle": "brand.test", "service": NEVER_USED, "firehose": firehose},
            {"app_password": "x"},
            state={"session": _saved_session(NEVER_USED)},
        )
        with pytest.raises(UnsafeAddress, match="firehose address"):
            connector.stream_mentions(lambda m: None, threading.Event())
    assert connections.attempts == []
    assert listener.nobody_came()


def test_a_stream_s_end_is_told_without_the_server_s_words() -> None:
    from websockets.exceptions import ConnectionClosedError
    from websockets.frames import Close

    from connectors.bluesky import _disconnect_reason

    closed = ConnectionClosedError(Close(1011, "AKIAEXAMPLESECRET internal error"), None)
    assert _disconnect_reason(closed) == "the server closed the stream (code 1011)"
    assert _disconnect_reason(ConnectionRefusedError(111, "Connection refused")) == (
        "ConnectionRefusedError: Connection refused"
    )


class _Pds(http.server.BaseHTTPRequestHandler):
    """A PDS that answers every request with ``status`` and ``body``, or redirects."""

    status = 400
    body = b""
    location = ""
    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(self.status)
        if self.location:
            self.send_header("location", self.location)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pds(connections: Any) -> Iterator[Callable[..., str]]:
    """A local PDS stub (the only place connections may go) -> its http:// address."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pds)
    connections.allow(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    _Pds.seen = []

    def configure(status: int, body: bytes = b"", location: str = "") -> str:
        _Pds.status, _Pds.body, _Pds.location = status, body, location
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield configure
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://169.254.169.254", "points to a link-local address"),
        ("https://[fd00:ec2::254]", "points to a cloud metadata service"),
        ("http://93.184.215.14", "must start with https://"),  # public, but in clear text
    ],
)
def test_a_redirect_to_a_hostile_address_is_not_followed(
    pds: Callable[..., str], connections: Any, target: str, why: str
) -> None:
    # 307 keeps the method and the body: the app password would go along
    service = pds(307, location=f"{target}/xrpc/com.atproto.server.createSession")
    connector = _bluesky(service, allow_local=True)
    with pytest.raises(UnsafeAddress, match=why):
        connector.verify()
    connector.close()
    assert _Pds.seen == ["/xrpc/com.atproto.server.createSession"]
    assert connections.refused == []  # nothing but the stub was even tried


SECRET_BODY = b'{"error":"InternalLeak","message":"aws_secret_access_key=AKIAEXAMPLESECRET"}'


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, SECRET_BODY),
        (409, SECRET_BODY),
        (413, SECRET_BODY),
        (418, b"<html>root:x:0:0:AKIAEXAMPLESECRET</html>"),
    ],
)
def test_a_server_s_words_never_reach_the_message(
    pds: Callable[..., str], status: int, body: bytes
) -> None:
    service = pds(status, body)
    connector = BlueskyConnector(
        {"handle": "brand.test", "service": service, ALLOW_LOCAL_NETWORK: True},
        {"app_password": "x"},
        state={"session": _saved_session(service)},
    )
    with pytest.raises((Rejected, Transient)) as caught:
        connector.fetch_mentions(None)
    connector.close()
    message = str(caught.value)
    assert "AKIAEXAMPLESECRET" not in message and "InternalLeak" not in message
    assert f"HTTP {status}" in message


# --- through the X connector --------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["http://127.0.0.1:{port}", "https://169.254.169.254", "gopher://127.0.0.1:{port}"],
)
def test_x_never_sends_credentials_to_a_hostile_api_base(
    template: str, listener: Any, connections: Any
) -> None:
    connector = XConnector(
        {"handle": "brand", "api_base": template.format(port=listener.getsockname()[1])},
        {
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "access_token": "at",
            "access_token_secret": "ats",
        },
    )
    with pytest.raises(UnsafeAddress, match="API base URL"):
        connector.verify()
    connector.close()
    assert connections.attempts == []
    assert listener.nobody_came()


def _saved_session(pds: str) -> str:
    """A session string as the SDK exports it (handle, DID, tokens, the PDS it belongs to)."""
    import base64
    import json

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    jwt = f"{part({'alg': 'HS256'})}.{part({'exp': int(time.time()) + 3600})}.c2ln"
    return f"brand.test:::did:plc:brand:::{jwt}:::{jwt}:::{pds}"
