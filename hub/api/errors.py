"""The API's failures as JSON: ``{"error": {"code": "...", "message": "..."}}``.

The app's error handlers (``hub.web``) end the request's unit of work and hand every failure
under ``/api/v1`` to :func:`render`, so a 404, 405, 413 or 500 there is JSON too, never the
HTML error page. ``message`` is the text the pages show for the same failure, in the
caller's language (Accept-Language, or the token owner's chosen language).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from hub.errors import UserError

#: the ``code`` of each status when the failure does not name a more precise one
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}


class ApiError(UserError):
    """A failure of the API's own input checks, with its ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status=status)
        self.code = code


class Unauthorized(ApiError):
    """No token, or one that does not work."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


def render(status: int, message: str, error: BaseException | None = None) -> Any:
    """The JSON answer for a failure (registered as the ``/api/v1`` error renderer)."""
    code = getattr(error, "code", None)
    if not isinstance(code, str):
        code = CODES.get(status, "error")
    response = jsonify(error={"code": code, "message": str(message)})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hub"'
    if status == 405 and error is not None:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response
