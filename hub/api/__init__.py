"""The JSON API for other systems (``/api/v1``) and the page where people make its tokens.

``init_app`` is the one call ``create_app`` makes: it registers both blueprints, exempts the
API (and only the API) from CSRF, which is safe because the API never reads the session cookie
(``hub.api.v1._authenticate``), and sends every failure under ``/api/v1`` through the API's
JSON error renderer.
"""

from __future__ import annotations

from flask import Flask

API_PREFIX = "/api/v1"


def init_app(app: Flask) -> None:
    """Register the API and its token pages on ``app`` (after CSRF is set up)."""
    from hub.api import errors, pages, v1

    app.register_blueprint(v1.bp)
    app.register_blueprint(pages.bp)
    app.extensions["csrf"].exempt(v1.bp)
    app.extensions.setdefault("hub.error_renderers", []).append(("/api/", errors.render))
