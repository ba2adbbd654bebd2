"""What the accounts page shows: each account's polling and push health in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import _, ngettext, when
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
        return _("%(seconds)s s", seconds=max(seconds, 0))
    if seconds < 3600:
        return _("%(minutes)s min", minutes=seconds // 60)
    if seconds < 86400:
        return _("%(hours)s h %(minutes)s min", hours=seconds // 3600, minutes=seconds % 3600 // 60)
    return _("%(days)s d", days=seconds // 86400)


def _when(at: datetime | None) -> str:
    if at is None:
        return _("never")
    return _("%(when)s UTC", when=when(at))


def describe_error(last_error: str | None, error_count: int) -> str:
    """The last poll error in plain words (the stored text is "ErrorType: details")."""
    if not last_error:
        return ""
    kind, _sep, detail = last_error.partition(": ")
    plain = {
        "AuthExpired": _("The platform refused the credentials; replace them"),
        "RateLimited": _("The platform asked us to slow down"),
        "Transient": _("The platform could not be reached"),
        "Rejected": _("The platform refused the request"),
    }.get(kind)
    text = f"{plain}: {detail}" if plain else last_error
    return ngettext(
        "%(error)s (%(num)s failed poll in a row)",
        "%(error)s (%(num)s failed polls in a row)",
        error_count,
        error=text,
    )


def account_statuses(session: Session, now: datetime | None = None) -> list[AccountStatus]:
    """Every account with its polling health, for the admin page."""
    now = now or utcnow()
    rows = []
    for a in session.scalars(
        select(PlatformAccount).order_by(PlatformAccount.platform, PlatformAccount.handle)
    ):
        if a.budget_remaining is None:
            budget = _("not reported")
        elif a.budget_reset_at is not None and a.budget_reset_at > now:
            budget = _(
                "%(left)s until %(time)s UTC",
                left=a.budget_remaining,
                time=a.budget_reset_at.strftime("%H:%M"),
            )
        else:
            budget = _("%(left)s (window over)", left=a.budget_remaining)
        if not a.active:
            next_poll = _("paused")
        elif a.next_poll_at is None or a.next_poll_at <= now:
            next_poll = _("now")
        else:
            next_poll = _("in %(wait)s", wait=_ago(a.next_poll_at - now))
        rows.append(
            AccountStatus(
                account=a,
                lag=_ago(now - a.last_success_at) if a.last_success_at else _("never polled"),
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
        return _("push: off")
    if not account.push_state:
        return _("push: not started")
    state = {
        PushState.CONNECTED.value: _("connected"),
        PushState.DISCONNECTED.value: _("disconnected"),
        PushState.OFF.value: _("off"),
    }.get(account.push_state, account.push_state)
    words = _("push: %(state)s", state=state)
    if account.push_since is not None:
        words += " " + _("since %(when)s UTC", when=when(account.push_since, seconds=True))
    if account.push_state != PushState.CONNECTED and account.push_error:
        words += f" ({account.push_error})"
    return words
