"""Where a connector may connect: the guard against server-side request forgery.

An account's platform address (a Bluesky PDS, X's API base) is typed by a person, and the
connector sends the account's credentials there and reads what comes back. Left open, that
address could be this machine's other services, the office network or the cloud's metadata
service. So every address a connector connects to passes ``AddressPolicy``:

* the scheme is the secure one (``https``, ``wss``); the plain one (``http``, ``ws``) only reaches
  this machine, and only when the host allows local platforms;
* the host is resolved and *every* address it resolves to must be public: loopback and private
  networks are refused unless the host allows local platforms, and link-local, multicast,
  reserved, unspecified and cloud-metadata addresses are refused always;
* the connection is then made to one of the addresses just checked (``GuardedTransport``,
  ``AddressPolicy.open_socket``), so a name that resolves differently a moment later (DNS
  rebinding) cannot slip through, and redirects and a PDS's own endpoint are checked the same way.

The host (the hub) decides whether local platforms are allowed and passes that in the
connector's config under ``ALLOW_LOCAL_NETWORK``; a connector without it refuses them.

Hand-written on the standard library's ``ipaddress``: the SSRF guards on PyPI wrap ``requests``
(advocate, unmaintained since 2020) or are agent toolkits; none plugs into httpx's connection
pool or a websocket's socket, which is where the check has to sit to cover redirects and
rebinding.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from connectors.base import ConnectorError, Transient

#: the config key the host sets (never an account): True lets addresses be local (see above)
ALLOW_LOCAL_NETWORK = "allow_local_network"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: the plain scheme that goes with each secure one
_PLAIN = {"https": "http", "wss": "ws"}
_DEFAULT_PORT = {"https": 443, "http": 80, "wss": 443, "ws": 80}
#: cloud metadata services outside the link-local range (which is refused whole):
#: AWS's IPv6 IMDS, Alibaba Cloud, Oracle Cloud's legacy address
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: deprecated IPv6 site-local (Python 3.11 calls it global)
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


class UnsafeAddress(ConnectorError):
    """An address the connector refuses to connect to; the message says why, in plain words."""

    def __init__(self, message: str, *, local: bool = False) -> None:
        super().__init__(message)
        #: True when the address is on this machine or a private network, which the host's
        #: allowance for local platforms would permit
        self.local = local


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo), which it reaches."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address | None] = [ip.ipv4_mapped, ip.sixtofour]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.teredo:
        found.extend(ip.teredo)
    return [v4 for v4 in found if v4 is not None]


def classify(ip: IPAddress) -> tuple[str, bool] | None:
    """None for a public address, else (what it is in words, whether local platforms may use it)."""
    for inner in _embedded_ipv4(ip):
        kind = classify(inner)
        if kind is not None:
            return kind
    if ip in _METADATA:
        return "a cloud metadata service", False
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address", False
    if ip.is_multicast:
        return "a multicast address", False
    if ip.is_link_local:  # 169.254.0.0/16 holds the metadata service of most clouds
        return "a link-local address", False
    if ip.is_loopback:
        return "this machine", True
    if ip.is_reserved:
        return "a reserved address", False
    if ip in _SITE_LOCAL or not ip.is_global:
        return "a private network", True
    return None


def _ip(sockaddr_host: str) -> IPAddress:
    return ipaddress.ip_address(sockaddr_host.split("%", 1)[0])  # drop an IPv6 scope id


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a connector may reach (see the module docstring)."""

    #: loopback and private networks allowed (a platform run on this machine or network)
    allow_local: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AddressPolicy:
        """The policy the host put in a connector's config; strict when it put none."""
        return cls(allow_local=config.get(ALLOW_LOCAL_NETWORK) is True)

    def resolve(self, host: str, port: int, label: str = "address") -> list[IPAddress]:
        """Every address ``host`` resolves to, each checked; UnsafeAddress if any is refused.

        A name that cannot be resolved raises ``Transient`` (DNS may be back later).
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Transient(f"Could not find the host of the {label}.") from exc
        addresses = list(dict.fromkeys(_ip(str(info[4][0])) for info in infos))
        if not addresses:
            raise Transient(f"Could not find the host of the {label}.")
        for ip in addresses:
            kind = classify(ip)
            if kind is None:
                continue
            what, local = kind
            if not (local and self.allow_local):
                raise UnsafeAddress(
                    f"The {label} points to {what}, where the hub does not connect.", local=local
                )
        return addresses

    def check_url(
        self, url: str, secure: str = "https", label: str = "address", *, resolve: bool = True
    ) -> list[IPAddress]:
        """Check a URL's form and (``resolve``) its host's addresses; return those addresses.

        With ``resolve=False`` only the form is checked, except that a plain-scheme URL is
        resolved anyway (it must reach this machine only).
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UnsafeAddress(f"The {label} is not a valid address.") from exc
        scheme = parts.scheme.lower()
        plain = _PLAIN[secure]
        if scheme not in (secure, plain):
            raise UnsafeAddress(f"The {label} must start with {secure}://.")
        if parts.username is not None or parts.password is not None:
            raise UnsafeAddress(f"The {label} must not contain a user name or password.")
        host = parts.hostname
        if not host:
            raise UnsafeAddress(f"The {label} has no host name.")
        port = port or _DEFAULT_PORT[scheme]
        if scheme == plain:
            if not self.allow_local:
                raise UnsafeAddress(f"The {label} must start with {secure}://.")
            addresses = self.resolve(host, port, label)
            if not all(ip.is_loopback for ip in addresses):
                raise UnsafeAddress(
                    f"The {label} must start with {secure}:// ({plain}:// only reaches this "
                    "machine).",
                )
            return addresses
        return self.resolve(host, port, label) if resolve else []

    def open_socket(
        self, url: str, secure: str, label: str, timeout: float | None
    ) -> socket.socket:
        """A TCP connection to ``url``'s host, made to an address that passed the check."""
        addresses = self.check_url(url, secure, label)
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORT[parts.scheme.lower()]
        return _connect_first(addresses, port, timeout)


def _connect_first(
    addresses: Iterable[IPAddress], port: int, timeout: float | None
) -> socket.socket:
    error: OSError | None = None
    for ip in addresses:
        try:
            return socket.create_connection((str(ip), port), timeout)
        except OSError as exc:
            error = exc
    assert error is not None  # resolve() never returns an empty list
    raise error


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the policy just checked."""

    def __init__(self, policy: AddressPolicy, label: str) -> None:
        self._policy = policy
        self._label = label

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve and check ``host``, then connect to the first checked address that answers."""
        error: httpcore.ConnectError | None = None
        for ip in self._policy.resolve(host, port, self._label):
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None  # resolve() never returns an empty list
        raise error


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes to an address ``policy`` accepted, and
    whose every request (redirects too) has the secure scheme unless it stays on this machine.

    TLS still verifies the certificate against the host name (httpcore passes it as SNI).
    Give the client ``trust_env=False`` as well: a connection through an environment proxy
    would bypass this transport.
    """

    def __init__(self, policy: AddressPolicy, label: str, secure: str = "https") -> None:
        super().__init__(trust_env=False)
        self._policy = policy
        self._label = label
        self._secure = secure
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # httpx has no public way to hand its connection pool a network backend; this is the
        # pool HTTPTransport builds, with ours (tests/connectors/test_outbound.py breaks if
        # httpx stops using ``_pool``)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE / SSL_CERT_DIR still apply
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy, label),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check the request's scheme (and, for a plain one, that it stays local), then send."""
        self._policy.check_url(str(request.url), self._secure, self._label, resolve=False)
        return super().handle_request(request)
