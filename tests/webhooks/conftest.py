"""A real HTTP receiver on 127.0.0.1 that checks each delivery's signature, and endpoints."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.db import job_session
from hub.webhooks.endpoints import EndpointInput, add_endpoint
from hub.webhooks.events import EVENT_TYPES


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    #: the signature matched the receiver's secret
    signed: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """What the receiver got; ``answers`` are the statuses it gives next (then 200)."""

    port: int
    secret: str = ""
    got: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        """The check the README gives receivers."""
        ts = headers.get("X-Hub-Timestamp", "")
        mac = hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(
            "sha256=" + mac.hexdigest(), headers.get("X-Hub-Signature-256", "")
        )

    @property
    def delivered_ids(self) -> list[str]:
        return [r.headers["X-Hub-Delivery"] for r in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server in a thread on 127.0.0.1 recording every POST."""
    state = Receiver(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            with state.lock:
                state.got.append(Received(headers, body, state.verify(headers, body)))
                status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_app(app: Any) -> Any:
    """The app with receivers on this machine allowed (HUB_WEBHOOKS_ALLOW_PRIVATE)."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    return app


@pytest.fixture
def make_endpoint(local_app: Any, make_staff: Any) -> Callable[..., int]:
    """make_endpoint(receiver, events=all) -> endpoint id; sets the receiver's secret."""
    admin = make_staff("admin")

    def make(rcv: Receiver, events: tuple[str, ...] = tuple(EVENT_TYPES)) -> int:
        with job_session(local_app) as s:
            endpoint, secret = add_endpoint(s, local_app, EndpointInput(rcv.url, events), admin.id)
            rcv.secret = secret
            return endpoint.id

    return make
