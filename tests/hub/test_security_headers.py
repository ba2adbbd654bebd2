"""Security headers on every response (pages, error pages, static files) and the request size
limit; the templates keep to the Content-Security-Policy (no inline script, handler or style)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture
def broken_app(app: Any) -> Any:
    """The test app with one view that fails unexpectedly (a 500 page)."""

    @app.route("/_test/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/login", 200),  # a page
        ("get", "/queue", 302),  # a redirect to sign in
        ("get", "/no-such-page", 404),  # an error page
        ("post", "/", 405),
        ("get", "/_test/boom", 500),  # an unexpected failure's page
        ("get", "/static/hub.css", 200),
        ("get", "/static/htmx.min.js", 200),
    ],
)
@pytest.mark.parametrize("header", sorted(EXPECTED))
def test_every_response_carries_the_security_headers(
    broken_app: Any, method: str, path: str, status: int, header: str
) -> None:
    resp = getattr(broken_app.test_client(), method)(path)
    resp.close()  # static files are streamed from an open file
    assert resp.status_code == status
    assert resp.headers.get(header) == EXPECTED[header]


def test_signed_in_pages_carry_them_too(client: Any, make_staff: Any, login: Any) -> None:
    login(client, make_staff("manager"))
    for path in ("/queue", "/admin/accounts/", "/sandbox/"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        for header, value in EXPECTED.items():
            assert resp.headers.get(header) == value, (path, header)


def test_the_policy_allows_no_inline_script_or_style() -> None:
    csp = EXPECTED["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_keep_to_the_policy(path: Path) -> None:
    """No inline <script>, no on*= handler, no style= or <style>, no javascript: URL."""
    html = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert re.search(r"\bsrc=", tag), f"inline script in {path.name}: {tag}"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, flags=re.I), path.name
    assert not re.search(r"<[^>]+\sstyle\s*=|<style\b", html, flags=re.I), path.name
    assert "javascript:" not in html.lower(), path.name
    assert "hx-on" not in html and "js:" not in html, path.name  # would need eval


def test_htmx_is_told_not_to_need_inline_style_or_eval(client: Any) -> None:
    html = client.get("/login").text
    assert (
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, '
        '"allowEval": false, "allowScriptTags": false}\'>'
    ) in html


FIFTY_MB = 50 * 1024 * 1024


@pytest.mark.parametrize("path", ["/login", "/", "/sandbox/post", "/no-such-page"])
def test_a_50_mb_anonymous_post_is_refused_with_413(client: Any, path: str) -> None:
    resp = client.post(path, data=b"a" * FIFTY_MB, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413
    assert "Too large" in resp.text
    assert "more than the hub accepts in one request (2 MB)" in resp.text
    assert resp.headers["Content-Security-Policy"] == EXPECTED["Content-Security-Policy"]


def test_the_limit_is_a_setting(app: Any, client: Any) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = client.post("/login", data={"email": "a" * 2000, "password": "x"})
    assert resp.status_code == 413
    assert "(1 KB)" in resp.text
    assert client.post("/login", data={"email": "a@b.test", "password": "x"}).status_code == 200


def test_a_request_under_the_limit_is_served(client: Any, make_staff: Any) -> None:
    staff = make_staff("manager")
    resp = client.post(
        "/login", data={"email": staff.email, "password": "password123", "pad": "x" * 500_000}
    )
    assert resp.status_code == 302


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(app, hops, seen):
    """The sign-in limit counts per client address; a header anyone can send is ignored unless
    the hub was told a proxy sets it."""
    from flask import request

    app.config["TRUSTED_PROXIES"] = hops
    from hub.web import trust_proxies

    trust_proxies(app)
    app.add_url_rule("/_probe/addr", "probe_addr", lambda: request.remote_addr or "")
    resp = app.test_client().get(
        "/_probe/addr",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert resp.text == seen
