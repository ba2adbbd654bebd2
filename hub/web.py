"""What every page shares: the error handlers that end a request's unit of work, the security
headers and request size limit, and the state enums templates compare against
(``item.state == OutboundState.SENT``, never a bare string)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from hub import audit, db
from hub.errors import UserError
from hub.i18n import _
from hub.models import ROLE_LABELS, MentionStatus, OutboundState, PackState


def _error_page(code: int, message: str, error: BaseException | None = None) -> Any:
    """The error page, or the answer of the part of the site that registered its own renderer
    for its path prefix in ``app.extensions["hub.error_renderers"]`` (the JSON API)."""
    for prefix, render in current_app.extensions.get("hub.error_renderers", ()):
        if request.path.startswith(prefix):
            return render(code, message, error)
    return render_template("error.html", code=code, message=message), code


def register_error_handlers(app: Flask) -> None:
    """One handler per kind of failure; each discards the request's uncommitted work first."""

    @app.errorhandler(UserError)
    def _user_error(e: UserError) -> Any:
        db.discard()
        return _error_page(e.status, e.message, e)

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        db.discard()
        return _error_page(
            400, _("The form expired or was not sent from the hub. Reload the page and try again.")
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(e: RequestEntityTooLarge) -> Any:
        db.discard()
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return _error_page(
            413,
            _(
                "That was more than the hub accepts in one request (%(size)s). Send less at once.",
                size=_size(limit),
            ),
            e,
        )

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Any:
        db.discard()
        return _error_page(e.code or 500, e.description or "", e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        db.discard()
        app.logger.exception("unhandled error")
        return _error_page(
            500,
            _(
                "Something went wrong on our side; nothing you typed was lost. Go back and try again."  # noqa: E501
            ),
            e,
        )


def _size(n: int | None) -> str:
    if not n:
        return _("no limit")
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


#: Every page's security headers. Hand-written rather than Flask-Talisman: the hub needs five
#: fixed headers and no per-request nonce (no inline script anywhere), and Talisman's defaults
#: (redirect to https, Secure session cookie) assume TLS at the app, which the hub leaves to the
#: proxy in front of it (see "Running it for real" in the README).
SECURITY_HEADERS = {
    # htmx and the stylesheet come from /static; no inline script, style or eval (htmx is told
    # so in base.html's htmx-config); forms post only to the hub; nobody may frame it
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    ),
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def register_security(app: Flask) -> None:
    """Security headers on every response (pages, errors, static files), and oversize requests
    refused with a 413 before any view, login or CSRF check reads them."""

    @app.before_request
    def _refuse_oversize() -> None:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        if limit and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def trust_proxies(app: Flask) -> None:
    """Believe the forwarding headers of ``TRUSTED_PROXIES`` reverse proxies (werkzeug's
    ProxyFix), so the sign-in limit counts per client, not per proxy, and the Secure-cookie rule
    sees the public scheme and host. With 0 the headers are ignored: anyone can send them."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def register_template_globals(app: Flask) -> None:
    """Make the state enums and the role names available to every template, and
    ``people_named(events)``: the names of the people a history refers to (so history lines
    show names, not ids)."""
    app.jinja_env.globals.update(
        MentionStatus=MentionStatus,
        OutboundState=OutboundState,
        PackState=PackState,
        people_named=lambda events: audit.people_named(db.get_session(), list(events)),
        ROLE_LABELS=ROLE_LABELS,
    )
