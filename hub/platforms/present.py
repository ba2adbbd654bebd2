"""What the accounts page shows: each account's polling and push health in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import PlatformAccount, PushState, utcnow
from hub.platforms.push import can_push
from hub.platforms.registry import supports_streaming


@dataclass(frozen=True)
class AccountStatus:
    """One row of the accounts page, computed here so the template only prints."""

    account: PlatformAccount
    lag: str
    budget: str
    next_poll: str
    last_success: str
    problem: str
    #: "push: connected since …" for platforms that stream, else ""
    push: str = ""


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def _when(at: datetime | None) -> str:
    if at is None:
        return "never"
    return f"{at:%b %d %H:%M} UTC"


def describe_error(last_error: str | None, error_count: int) -> str:
    """The last poll error in plain words (the stored text is "ErrorType: details")."""
    if not last_error:
        return ""
    kind, _, detail = last_error.partition(": ")
    plain = {
        "AuthExpired": "The platform refused the credentials; replace them",
        "RateLimited": "The platform asked us to slow down",
        "Transient": "The platform could not be reached",
        "Rejected": "The platform refused the request",
    }.get(kind)
    text = f"{plain}: {detail}" if plain else last_error
    return f"{text} ({error_count} failed poll{'s' if error_count != 1 else ''} in a row)"


def account_statuses(session: Session, now: datetime | None = None) -> list[AccountStatus]:
    """Every account with its polling health, for the admin page."""
    now = now or utcnow()
    rows = []
    for a in session.scalars(
        select(PlatformAccount).order_by(PlatformAccount.platform, PlatformAccount.handle)
    ):
        if a.budget_remaining is None:
            budget = "not reported"
        elif a.budget_reset_at is not None and a.budget_reset_at > now:
            budget = f"{a.budget_remaining} until {a.budget_reset_at:%H:%M} UTC"
        else:
            budget = f"{a.budget_remaining} (window over)"
        if not a.active:
            next_poll = "paused"
        elif a.next_poll_at is None or a.next_poll_at <= now:
            next_poll = "now"
        else:
            next_poll = f"in {_ago(a.next_poll_at - now)}"
        rows.append(
            AccountStatus(
                account=a,
                lag=_ago(now - a.last_success_at) if a.last_success_at else "never polled",
                budget=budget,
                next_poll=next_poll,
                last_success=_when(a.last_success_at),
                problem=describe_error(a.last_error, a.error_count),
                push=push_health(a) if supports_streaming(a.platform) else "",
            )
        )
    return rows


def push_health(account: PlatformAccount) -> str:
    """The stream's health in words for the accounts page, e.g. "push: connected since …"."""
    if not can_push(account):
        return "push: off"
    if not account.push_state:
        return "push: not started"
    words = f"push: {account.push_state}"
    if account.push_since is not None:
        words += f" since {account.push_since:%b %d %H:%M:%S} UTC"
    if account.push_state != PushState.CONNECTED and account.push_error:
        words += f" ({account.push_error})"
    return words
