"""Routing rules: evaluated in order, first match wins, language from lingua."""

from __future__ import annotations

import pytest

from hub.engagement.language import detect_language
from hub.engagement.routing import compile_rules, route
from hub.models import RoutingRule


def _rules():  # type: ignore[no-untyped-def]
    specs = [
        (1, "scams", {"keywords": ["scam*", "诈骗"]}, 7, "p1", 30),
        (2, "spanish", {"languages": ["es"]}, 5, "p2", None),
        (3, "chinese", {"languages": ["zh"]}, 6, "p2", None),
        (4, "legal", {"languages": ["en"], "keywords": ["sue", "lawyer"]}, 4, "p1", 15),
        (5, "care", {"languages": ["en"], "keywords": ["order", "kf-"]}, 1, "p2", None),
        (6, "social", {}, 3, None, None),
    ]
    return compile_rules(
        [
            RoutingRule(
                id=i, position=i, name=n, conditions=c, team_id=t, priority=p, sla_minutes=s
            )
            for i, n, c, t, p, s in specs
        ]
    )


@pytest.mark.parametrize(
    ("text", "team", "priority", "sla"),
    [
        ("@K where is my order KF-12345678?", 1, "p2", 120),
        ("@K my ORDER never came", 1, "p2", 120),
        ("@K I'll have my lawyer call you about this order", 4, "p1", 15),
        ("@K there's an issue with the insole", 3, "p3", 480),  # "sue" inside "issue" must not fire
        ("@K is kestrel-rewards.net a scam??", 7, "p1", 30),
        ("@K scammers are using your name", 7, "p1", 30),  # prefix keyword
        ("@K hola, ¿dónde está mi pedido? lleva una semana", 5, "p2", 120),
        ("@K 我的订单还没发货，已经一周了", 6, "p2", 120),
        ("@K 有人冒充你们客服诈骗", 7, "p1", 30),  # CJK keyword, no word boundaries
        ("@K love these shoes 😍", 3, "p3", 480),
        ("🔥🔥🔥", 3, "p3", 480),
    ],
)
def test_first_matching_rule_wins(text, team, priority, sla):
    r = route(_rules(), {"language": detect_language(text), "platform": "sandbox"}, text)
    assert (r.team_id, r.priority, r.sla_minutes) == (team, priority, sla)


def test_no_rule_means_no_team_and_default_sla():
    r = route([], {"language": "en", "platform": "x"}, "@K hello", default_sla=77)
    assert (r.team_id, r.priority, r.sla_minutes) == (None, "p3", 77)


def test_platform_condition():
    rules = compile_rules(
        [
            RoutingRule(
                id=1, position=1, name="bsky only", conditions={"platforms": ["bluesky"]}, team_id=9
            )
        ]
    )
    assert route(rules, {"language": "en", "platform": "bluesky"}, "hi").team_id == 9
    assert route(rules, {"language": "en", "platform": "x"}, "hi").team_id is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("@KestrelFootwear hey, order KF-20481736 hasn't moved since Saturday", "en"),
        ("Hola @KestrelFootwear! do the Shoreline sandals come in half sizes?", "en"),
        ("@KestrelFootwear hola, mi pedido llegó con la caja rota", "es"),
        ("@KestrelFootwear 我的order KF-12345678 还没ship，已经一周了 what's going on??", "zh"),
        ("@KestrelFootwear 請問切爾西靴什麼時候補貨", "zh"),
        ("😍😍😍", "en"),
    ],
)
def test_language_of_the_request(text, lang):
    assert detect_language(text) == lang


def test_demo_rules_route_the_labelled_mentions(shared_data):
    """The demo rules through ingest's triage path, on the labelled public mentions: a floor
    under today's figures (``hub route eval`` prints them), separately for the part the model
    and word lists never saw."""
    from hub.demo import demo_data
    from hub.engagement.route_eval import evaluate, read_rows

    result = evaluate(read_rows(str(shared_data / "mentions" / "public.jsonl")), demo_data())
    assert result["language_accuracy"] >= 0.98
    assert result["team_accuracy"] >= 0.93
    assert result["priority_accuracy"] >= 0.9
    assert result["p1_recall"] >= 0.9
    held_out = result["held_out"]
    assert held_out["team_accuracy"] >= 0.92
    assert held_out["priority_accuracy"] >= 0.8
    assert held_out["p1_recall"] >= 0.9
    assert held_out["language_accuracy"] >= 0.98


def test_a_rule_changed_anywhere_applies_from_the_next_load(app):
    """Ingest keeps the compiled rules while the stored ones are unchanged, and an edit, a new
    order or a rule switched off applies from the next load, whichever process made it (here:
    plain SQL on a connection of its own, as another worker would)."""
    from sqlalchemy import update

    from hub.db import job_session
    from hub.engagement.routing import load_rules
    from hub.models import Team

    with job_session(app) as s:
        team = Team(slug="care", name="Care")
        s.add(team)
        s.flush()
        conditions = {"keywords": ["refund*"]}
        s.add(RoutingRule(position=1, name="refunds", conditions=conditions, team_id=team.id))
        s.add(RoutingRule(position=2, name="the rest", conditions={}, priority="p3"))

    def routed(text: str) -> tuple[str, str]:
        with job_session(app) as s:
            r = route(load_rules(s), {"language": "en", "platform": "sandbox"}, text)
        return r.rule_name, r.priority

    def change(*where, **values) -> None:  # type: ignore[no-untyped-def]
        with app.extensions["hub.engine"].begin() as conn:
            conn.execute(update(RoutingRule).where(*where).values(**values))

    with job_session(app) as s:
        assert load_rules(s) is load_rules(s)  # unchanged: compiled once
    assert routed("a refund, please") == ("refunds", "p3")
    change(RoutingRule.name == "refunds", conditions={"keywords": ["money back"]}, priority="p1")
    assert routed("a refund, please") == ("the rest", "p3")
    assert routed("my money back, please") == ("refunds", "p1")
    change(RoutingRule.name == "refunds", position=3)
    assert routed("my money back, please") == ("the rest", "p3")
    change(RoutingRule.name == "the rest", enabled=False)
    assert routed("my money back, please") == ("refunds", "p1")
