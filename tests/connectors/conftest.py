"""A loopback HTTP peer that replays vcrpy cassettes, for connectors that speak HTTP.

The connector under test runs its real SDK code over real HTTP to 127.0.0.1. Each request is
checked against the next interaction of the cassette (method, path, the query parameters and
the JSON body the cassette recorded, and the auth scheme when it names one); a request that
doesn't match is answered 418 and reported when the test ends, so a connector that sends the
wrong thing fails even if it handles the error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
#: cassettes we wrote ourselves from the documented shapes
OUR_CASSETTES = TESTS / "data"
#: real recordings shared between the project's repositories (tweepy's cassettes of X)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

#: headers the replay computes itself instead of copying from the cassette
_HOP_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Interaction:
    """One request the peer expects and the response it gives back."""

    source: str
    method: str
    path: str
    query: dict[str, list[str]] | None  #: None: the cassette recorded no query to compare
    body: Any  #: the JSON body expected, None when the cassette has none
    auth_scheme: str | None  #: "Bearer" or "OAuth" when the cassette names one
    status: int
    reason: str
    headers: list[tuple[str, str]]
    payload: bytes


def load_cassette(path: Path, only: Sequence[int] | None = None) -> list[Interaction]:
    """The interactions of a vcrpy cassette (``only``: keep these indexes)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for index, item in enumerate(data["interactions"]):
        if only is not None and index not in only:
            continue
        request, response = item["request"], item["response"]
        uri = urlsplit(request["uri"])
        auth = (request.get("headers") or {}).get("Authorization")
        body = response["body"]["string"]
        out.append(
            Interaction(
                source=f"{path.name}#{index}",
                method=request["method"],
                path=uri.path,
                query=parse_qs(uri.query, keep_blank_values=True) if uri.query else None,
                body=json.loads(request["body"]) if request.get("body") else None,
                auth_scheme=auth[0].split()[0] if auth else None,
                status=int(response["status"]["code"]),
                reason=response["status"]["message"],
                headers=[
                    (name, value)
                    for name, values in (response.get("headers") or {}).items()
                    if name.lower() not in _HOP_HEADERS
                    for value in values
                ],
                payload=body if isinstance(body, bytes) else body.encode("utf-8"),
            )
        )
    return out


def _as_sets(query: dict[str, list[str]]) -> dict[str, set[str]]:
    # comma lists (fields, expansions) may come in any order
    return {
        key: {part for value in values for part in value.split(",")}
        for key, values in query.items()
    }


class ReplayPeer:
    """A threading HTTP server on 127.0.0.1 (random port) replaying interactions in order."""

    def __init__(self, interactions: list[Interaction], delay: float = 0.0) -> None:
        self.expected = list(interactions)
        self.delay = delay
        self.seen: list[tuple[str, str]] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        """Where the peer listens, e.g. http://127.0.0.1:41234."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Wake any delayed answer, stop serving and close the socket."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def problems(self) -> list[str]:
        """Mismatched or unexpected requests, and interactions never asked for."""
        left = [f"never requested: {i.method} {i.path} ({i.source})" for i in self.expected]
        return self.failures + left

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        url = urlsplit(handler.path)
        with self._lock:
            self.seen.append((handler.command, handler.path))
            if not self.expected:
                self.failures.append(f"unexpected request: {handler.command} {handler.path}")
                interaction = None
            else:
                interaction = self.expected.pop(0)
                mismatch = _mismatch(interaction, handler, url.path, url.query, raw_body)
                if mismatch:
                    self.failures.append(f"{interaction.source}: {mismatch}")
                    interaction = None
        if interaction is None:
            _send(
                handler,
                418,
                "Not In Cassette",
                [("content-type", "application/json")],
                b'{"detail": "request does not match the cassette"}',
            )
            return
        if self.delay:
            self._release.wait(self.delay)
        _send(
            handler,
            interaction.status,
            interaction.reason,
            interaction.headers,
            interaction.payload,
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer._answer(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


def _mismatch(
    interaction: Interaction,
    handler: BaseHTTPRequestHandler,
    path: str,
    query: str,
    raw_body: bytes,
) -> str | None:
    if handler.command != interaction.method or path != interaction.path:
        return f"expected {interaction.method} {interaction.path}, got {handler.command} {path}"
    if interaction.query is not None:
        got = _as_sets(parse_qs(query, keep_blank_values=True))
        want = _as_sets(interaction.query)
        if got != want:
            return f"query differs: expected {want}, got {got}"
    if interaction.body is not None:
        try:
            got_body = json.loads(raw_body)
        except ValueError:
            return f"body is not JSON: {raw_body[:200]!r}"
        if got_body != interaction.body:
            return f"JSON body differs: expected {interaction.body}, got {got_body}"
    if interaction.auth_scheme is not None:
        scheme = (handler.headers.get("Authorization") or "").split(" ", 1)[0]
        if scheme != interaction.auth_scheme:
            return f"expected {interaction.auth_scheme} auth, got {scheme or 'none'}"
    return None


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    payload: bytes,
) -> None:
    try:
        handler.send_response(status, reason)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:
        pass  # the client gave up (a timeout test): nothing to answer


Source = Path | tuple[Path, Sequence[int]]


@pytest.fixture
def replay_peer() -> Iterator[Callable[..., ReplayPeer]]:
    """Start a ReplayPeer from cassettes: ``replay_peer(path, (path, [0]), delay=1.0)``.

    At the end of the test every interaction must have been requested, each as recorded.
    """
    peers: list[ReplayPeer] = []

    def start(*sources: Source, delay: float = 0.0) -> ReplayPeer:
        interactions: list[Interaction] = []
        for source in sources:
            if isinstance(source, tuple):
                interactions += load_cassette(source[0], source[1])
            else:
                interactions += load_cassette(source)
        peer = ReplayPeer(interactions, delay=delay)
        peers.append(peer)
        return peer

    yield start
    problems = []
    for peer in peers:
        peer.stop()
        problems += peer.problems()
    assert not problems, "the peer saw requests other than the cassettes':\n" + "\n".join(problems)
