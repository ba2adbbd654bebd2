"""The one family of errors a person sees: what they asked for can't be done, and why.

Services raise a :class:`UserError` (or :class:`Forbidden` / :class:`Conflict`) with a message
written for the person and the HTTP status that fits; they never commit or roll back. The app's
one handler (``hub.web``) discards the request's unit of work and shows the message; a view that
wants to show the message inside its own form catches the error from a ``db.attempt()`` block,
which undoes just that attempt's writes.
"""

from __future__ import annotations

from collections.abc import Mapping


class UserError(Exception):
    """A request that cannot go ahead as asked; ``str(exc)`` is for the person who asked.

    ``status`` is the HTTP status that fits (422: fix the input; 403: not yours to do; 404:
    not there; 409: the thing changed meanwhile). ``errors`` maps form field names ("" for the
    whole form) to messages, for forms that show each problem next to its field.
    """

    status: int = 422

    def __init__(
        self, message: str, *, status: int | None = None, errors: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.errors: dict[str, str] = dict(errors or {"": message})

    @property
    def message(self) -> str:
        """The text for the person."""
        return str(self.args[0]) if self.args else ""


class Forbidden(UserError):
    """Not this person's to do (their role, or separation of duties)."""

    status = 403


class NotFound(UserError):
    """The thing asked for does not exist (or is not visible to this person)."""

    status = 404


class Conflict(UserError):
    """The thing changed meanwhile (someone else acted first); reload and try again."""

    status = 409
