"""What every page shares: the error handlers that end a request's unit of work, and the state
enums templates compare against (``item.state == OutboundState.SENT``, never a bare string)."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hub import db
from hub.errors import UserError
from hub.models import MentionStatus, OutboundState, PackState


def _error_page(code: int, message: str) -> Any:
    return render_template("error.html", code=code, message=message), code


def register_error_handlers(app: Flask) -> None:
    """One handler per kind of failure; each discards the request's uncommitted work first."""

    @app.errorhandler(UserError)
    def _user_error(e: UserError) -> Any:
        db.discard()
        return _error_page(e.status, e.message)

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        db.discard()
        return _error_page(
            400, "The form expired or was not sent from the hub. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Any:
        db.discard()
        return _error_page(e.code or 500, e.description or "")

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        db.discard()
        app.logger.exception("unhandled error")
        return _error_page(
            500,
            "Something went wrong on our side; nothing you typed was lost. Go back and try again.",
        )


def register_template_globals(app: Flask) -> None:
    """Make the state enums available to every template."""
    app.jinja_env.globals.update(
        MentionStatus=MentionStatus, OutboundState=OutboundState, PackState=PackState
    )
