"""/metrics: who may read it (a bearer token, else allowed networks; everyone else a 404), and
what it says (queue depth, ingest lag, outbox states, decisions, request latency)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub import metrics
from hub.db import job_session
from hub.models import (
    Mention,
    OutboundItem,
    PlatformAccount,
    PolicyDecision,
    Staff,
    Team,
    utcnow,
)

REPO = Path(__file__).resolve().parents[2]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize(
    ("token", "allow", "auth", "addr", "ok"),
    [
        (None, ["127.0.0.1/32", "::1/128"], None, "127.0.0.1", True),
        (None, ["127.0.0.1/32", "::1/128"], None, "::1", True),
        (None, ["127.0.0.1/32", "::1/128"], None, "10.0.0.5", False),
        (None, "10.0.0.0/8, 192.168.0.0/16", None, "10.0.0.5", True),
        (None, "10.0.0.0/8", None, "not-an-address", False),
        (None, [], None, "127.0.0.1", False),
        ("t0ken", ["127.0.0.1/32"], "Bearer t0ken", "203.0.113.9", True),
        ("t0ken", ["127.0.0.1/32"], None, "127.0.0.1", False),  # a token replaces the networks
        ("t0ken", ["127.0.0.1/32"], "Bearer wrong", "127.0.0.1", False),
        ("t0ken", ["127.0.0.1/32"], "t0ken", "127.0.0.1", False),
    ],
)
def test_access_rule(token, allow, auth, addr, ok):
    config = {"METRICS_TOKEN": token, "METRICS_ALLOW": allow}
    assert metrics.may_scrape(config, auth, addr) is ok


def test_the_defaults_allow_only_this_machine(app, client):
    assert app.config["METRICS_TOKEN"] is None
    assert client.get("/metrics").status_code == 200
    other = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 404


def test_with_a_token_only_its_bearer_reads(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    resp = client.get(
        "/metrics",
        headers={"Authorization": "Bearer s3cret-token"},
        environ_overrides={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")


def test_the_figures(app, client, make_mention, make_staff, login):
    author = make_staff("employee")
    m1 = make_mention("@KestrelFootwear where is my order?")
    m2 = make_mention("@KestrelFootwear hello")
    make_mention("@KestrelFootwear thanks, all good")
    with job_session(app) as s:
        team = Team(slug="care", name="Care")
        s.add(team)
        s.flush()
        s.get(Mention, m1.id).team_id = team.id
        s.get(Mention, m2.id).status = "closed"
        account = s.get(PlatformAccount, m1.account_id)
        account.last_success_at = utcnow() - timedelta(seconds=90)
        for verdict in ("allow", "allow", "block"):
            s.add(
                PolicyDecision(
                    author_id=author.id,
                    text="x",
                    verdict=verdict,
                    pack_version="t",
                    platform="sandbox",
                )
            )
        s.add(
            OutboundItem(
                kind="post",
                account_id=account.id,
                author_id=author.id,
                text="x",
                state="scheduled",
                idempotency_key="metrics-1",
            )
        )
    metrics._decisions_cache.clear()
    login(client, author)
    client.get("/outbox")
    got = _samples(client.get("/metrics").text)
    assert got[("hub_queue_depth", (("status", "new"), ("team", "care")))] == 1
    assert got[("hub_queue_depth", (("status", "new"), ("team", "none")))] == 1
    assert not any(k[0] == "hub_queue_depth" and ("status", "closed") in k[1] for k in got)
    lag = got[("hub_ingest_lag_seconds", (("account", "KestrelFootwear"), ("platform", "sandbox")))]
    assert 90 <= lag < 150
    assert got[("hub_outbox_items", (("state", "scheduled"),))] == 1
    assert got[("hub_outbox_items", (("state", "sent"),))] == 0
    assert got[("hub_policy_decisions_stored", (("verdict", "allow"),))] == 2
    assert got[("hub_policy_decisions_stored", (("verdict", "block"),))] == 1
    assert got[("hub_webhook_deliveries", (("state", "failed"),))] == 0
    count = (
        "hub_request_duration_seconds_count",
        (("endpoint", "conversation.mine"), ("method", "GET")),
    )
    assert got.get(count, 0) >= 1


def test_recorded_decisions_are_counted_by_this_process(app, make_staff):
    import policies
    from hub.publishing.compose import record_decision

    author = make_staff("employee")
    before = metrics.DECISIONS.labels(verdict="warn")._value.get()
    decision = policies.Decision(verdict="warn", findings=[], pack_version="t", elapsed_ms=1.0)
    with job_session(app) as s:
        record_decision(s, s.get(Staff, author.id), "hi", "sandbox", decision)
    assert metrics.DECISIONS.labels(verdict="warn")._value.get() == before + 1


def test_the_stored_count_is_read_once_a_minute(app):
    metrics._decisions_cache.clear()
    with job_session(app) as s:
        first = metrics.stored_decisions(s, "k", now=1000.0)
    calls = []
    with job_session(app) as s:
        real = s.execute

        def counting(*a: Any, **kw: Any) -> Any:
            calls.append(a)
            return real(*a, **kw)

        s.execute = counting  # type: ignore[method-assign]
        assert metrics.stored_decisions(s, "k", now=1030.0) == first
        assert calls == []
        metrics.stored_decisions(s, "k", now=1000.0 + metrics.DECISIONS_TTL + 1)
        assert len(calls) == 1


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set, a scrape reports what every process counted."""
    script = textwrap.dedent(
        """
        import sys
        from hub import metrics
        metrics.count_decision("allow")
        if sys.argv[1] == "scrape":
            from prometheus_client import generate_latest
            print(generate_latest(metrics.process_registry()).decode())
        """
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    for arg in ("count", "count", "scrape"):
        out = subprocess.run(
            [sys.executable, "-c", script, arg], env=env, capture_output=True, text=True, check=True
        ).stdout
    assert _samples(out)[("hub_policy_decisions_total", (("verdict", "allow"),))] == 3
