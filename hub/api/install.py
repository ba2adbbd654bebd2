"""Putting the API on the app: ``init_app`` is the one call ``create_app`` makes.

It registers both blueprints, exempts the API (and only the API) from CSRF, which is safe
because the API never reads the session cookie (``hub.api.v1._authenticate``), and sends every
failure under ``/api/`` through the API's JSON error renderer.
"""

from __future__ import annotations

from flask import Flask

from hub.api import errors, pages, v1

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    """Register the API and its token pages on ``app`` (after CSRF is set up)."""
    app.register_blueprint(v1.bp)
    app.register_blueprint(pages.bp)
    app.extensions["csrf"].exempt(v1.bp)
    app.extensions.setdefault("hub.error_renderers", []).append((API_PREFIX, errors.render))
