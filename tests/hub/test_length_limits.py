"""The connector's ``Limits`` are the one truth for length in the hub: every policy draft carries
its platform's limit, the composer's counter counts with it, and no post over it is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import policies
from connectors.base import REGISTRY
from hub.compliance import packs
from hub.db import job_session
from hub.models import PolicyPackVersion
from hub.platforms.registry import load_platforms
from hub.publishing.compose import check_text, platform_limit
from hub.publishing.posts import NewPost, PostError, count_length, submit_post

TINY_MODULE = "hub_tests_tiny_platform"
TINY_SOURCE = '''
"""A platform that takes ten characters: only its class attributes are read."""

from connectors.base import Connector, Limits, register


@register("tiny")
class TinyConnector(Connector):
    platform = "tiny"
    limits = Limits(10, "characters", "Tiny")
'''


@pytest.fixture
def tiny_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fourth platform loaded the way the PLATFORMS setting loads one."""
    (tmp_path / f"{TINY_MODULE}.py").write_text(TINY_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    load_platforms([TINY_MODULE])


@pytest.mark.parametrize(
    ("platform", "limit"),
    [
        ("x", policies.LengthLimit(280, "x_weighted", "X")),
        ("bluesky", policies.LengthLimit(300, "graphemes", "Bluesky")),
        ("sandbox", policies.LengthLimit(280, "x_weighted", "Sandbox")),  # counts like X
        ("no-such-platform", None),
    ],
)
def test_platform_limit_is_what_the_connector_declares(
    platform: str, limit: policies.LengthLimit | None
) -> None:
    assert platform_limit(platform) == limit
    if limit is not None:
        declared = REGISTRY[platform].limits  # type: ignore[attr-defined]
        assert (declared.max_length, declared.counting, declared.platform_name) == (
            limit.max,
            limit.counter,
            limit.name,
        )


def test_check_and_counter_use_the_connectors_limit(
    app: Any, make_staff: Any, tiny_platform: None
) -> None:
    author = make_staff("employee")
    with job_session(app) as s:
        decision = check_text(s, author, "a" * 11, "tiny", "post")
        count = count_length("tiny", "a" * 11)
    assert [f.message for f in decision.findings if f.rule_id == "platform-length"] == [
        "This is 11 characters as Tiny counts them; the limit is 10. Cut 1."
    ]
    assert count == policies.LengthCount(11, 10, "Tiny", "characters")
    with job_session(app) as s:
        assert count_length("no-such-platform", "a" * 11) is None


def test_an_overlong_post_is_refused_even_when_the_pack_checks_no_length(
    app: Any, make_staff: Any, sandbox_account: Any
) -> None:
    spec = packs.load_spec(packs.shipped_text())
    for rule in spec["rules"]:
        if rule["kind"] == "length":
            rule["enabled"] = False
    source = packs.dump_spec(spec)
    author = make_staff("employee")
    with job_session(app) as s:
        pack_version = policies.load_pack(source).version
        s.add(PolicyPackVersion(version=pack_version, yaml=source, state="active"))
    form = NewPost(sandbox_account.id, "猫" * 150, confirm_warnings=True)
    with job_session(app) as s, pytest.raises(PostError) as refused:
        submit_post(s, form, author)
    assert (
        str(refused.value) == "This is 300 characters long for Sandbox; the limit is 280. Cut 20."
    )
