"""The poll interval follows the rate budget the platform reported (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.platforms.polling import next_poll_delay

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

# (why, base seconds, remaining, reset in, expected delay)
CASES = [
    ("nothing reported", 15, None, None, timedelta(seconds=15)),
    ("remaining without reset time", 15, 10, None, timedelta(seconds=15)),
    ("reset time without remaining", 15, None, 15 * MIN, timedelta(seconds=15)),
    ("reset already past", 15, 0, -MIN, timedelta(seconds=15)),
    ("plenty left: base interval wins", 15, 450, 15 * MIN, timedelta(seconds=15)),
    ("spread evenly until reset", 15, 10, 15 * MIN, timedelta(seconds=90)),
    ("one left: use it at the reset", 15, 1, 15 * MIN, 15 * MIN),
    ("none left: wait for the reset", 15, 0, 15 * MIN, 15 * MIN),
    ("none left, reset sooner than base", 15, 0, timedelta(seconds=5), timedelta(seconds=15)),
    ("negative remaining treated as none", 15, -3, 10 * MIN, 10 * MIN),
    ("exactly at base", 60, 15, 15 * MIN, timedelta(seconds=60)),
]


@pytest.mark.parametrize(
    ("base", "remaining", "reset_in", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_next_poll_delay(base, remaining, reset_in, expected):
    reset_at = NOW + reset_in if reset_in is not None else None
    assert next_poll_delay(base, remaining, reset_at, NOW) == expected


def test_poll_schedules_by_reported_budget(app, sandbox_account, monkeypatch):
    """A batch that reports 4 requests left for 10 minutes puts the next poll 2.5 min out."""
    from connectors.base import Batch, RateBudget
    from connectors.sandbox import SandboxConnector
    from hub.db import job_session
    from hub.models import PlatformAccount, utcnow
    from hub.platforms.polling import poll_account

    reset = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(
        SandboxConnector,
        "fetch_mentions",
        lambda self, cursor: Batch([], "0", RateBudget(limit=75, remaining=4, reset_at=reset)),
    )
    before = utcnow()
    outcome = poll_account(app, sandbox_account.id)
    assert outcome.error is None
    with job_session(app) as s:
        account = s.get(PlatformAccount, sandbox_account.id)
        assert account.budget_remaining == 4
        wait = account.next_poll_at - before
    assert timedelta(minutes=2, seconds=20) < wait < timedelta(minutes=2, seconds=40)


def test_a_full_page_is_followed_at_once_and_a_short_one_an_interval_later(
    app, sandbox_account, monkeypatch
):
    """A burst is read as fast as ingest takes it: the sandbox returns 5 of 12 waiting posts
    (its page here), so the next poll is due now, until the short last page."""
    from connectors.sandbox import SandboxConnector, SandboxStore
    from hub.db import job_session
    from hub.models import Mention, PlatformAccount, utcnow
    from hub.platforms.polling import poll_account

    monkeypatch.setattr(SandboxConnector, "page_size", 5)
    store = SandboxStore(app.config["SANDBOX_URL"])
    for i in range(12):
        store.create_post(f"fan{i}", f"@KestrelFootwear question {i}")
    waits = []
    for _ in range(3):
        assert poll_account(app, sandbox_account.id).error is None
        after = utcnow()
        with job_session(app) as s:
            waits.append(s.get(PlatformAccount, sandbox_account.id).next_poll_at - after)
    assert waits[0] <= timedelta(0) and waits[1] <= timedelta(0)  # due already
    assert waits[2] >= timedelta(seconds=app.config["POLL_SECONDS"] - 1)
    with job_session(app) as s:
        assert s.query(Mention).count() == 12


def test_a_full_page_still_waits_for_an_exhausted_budget(app, sandbox_account, monkeypatch):
    from connectors.base import Batch, RateBudget
    from connectors.sandbox import SandboxConnector
    from hub.db import job_session
    from hub.models import PlatformAccount, utcnow
    from hub.platforms.polling import poll_account

    reset = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(
        SandboxConnector,
        "fetch_mentions",
        lambda self, cursor: Batch([], "0", RateBudget(75, 0, reset), more=True),
    )
    before = utcnow()
    assert poll_account(app, sandbox_account.id).error is None
    with job_session(app) as s:
        assert s.get(PlatformAccount, sandbox_account.id).next_poll_at - before > 9 * MIN
