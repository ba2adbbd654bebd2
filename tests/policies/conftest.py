"""Fixtures for the policy engine tests: the compiled default pack and a check helper."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policies import AuthorHistory, Context, Decision, Draft, Pack, check, load_pack


@pytest.fixture(scope="session")
def pack() -> Pack:
    """The default culture pack, compiled once."""
    return load_pack()


@pytest.fixture(scope="session")
def run(pack: Pack) -> Callable[..., Decision]:
    """check() with keyword defaults: run(text, kind="post", in_reply_to=None, history=None).

    Without the time budget: on a loaded machine (two test workers, the first check of a
    worker loading the models) a verdict test would otherwise now and then read a check held
    for its budget as the pack's verdict. The budget has its own tests (test_budget.py)."""

    def _run(
        text: str,
        kind: str = "post",
        in_reply_to: str | None = None,
        history: tuple[int, int] | None = None,
        platform: str = "bluesky",
    ) -> Decision:
        draft = Draft(text=text, platform=platform, kind=kind, in_reply_to=in_reply_to)
        ctx = Context(history=AuthorHistory(*history) if history else None)
        return check(draft, ctx, pack, budget_ms=None)

    return _run
