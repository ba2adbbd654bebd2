"""Fixtures for the JSON API: tokens made through the real service, and a caller that sends
them (no session cookie unless a test signs a browser in on purpose)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def make_token(app: Any) -> Callable[..., str]:
    """make_token(staff, scope="write") -> the token, made by hub.api.tokens.create_token."""
    from hub.api.tokens import NewToken, create_token
    from hub.db import job_session
    from hub.models import Staff

    def make(staff: Any, scope: str = "write", name: str = "test") -> str:
        with job_session(app) as s:
            _row, token = create_token(s, s.get(Staff, staff.id), NewToken(name, scope))
        return token

    return make


class Caller:
    """A test client that sends one bearer token with every request."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.token = token

    def open(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.open("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.open("POST", path, json=json if json is not None else {}, **kw)


@pytest.fixture
def api(app: Any, make_token: Callable[..., str]) -> Callable[..., Caller]:
    """api(staff, scope="write") -> a Caller with a fresh token of ``staff``."""

    def make(staff: Any, scope: str = "write") -> Caller:
        return Caller(app.test_client(), make_token(staff, scope))

    return make
