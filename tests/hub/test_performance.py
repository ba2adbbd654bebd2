"""Performance figures against a hand-computed fixture, the pages' scope rules, CSVs and the
leaderboard (run on PostgreSQL too with HUB_TEST_DB=postgresql)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.compliance.reports import ReportFilter
from hub.db import job_session
from hub.engagement import performance
from hub.engagement.moderation import claim_mention, move_mention
from hub.models import (
    Mention,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
    Staff,
    StaffTeam,
    Team,
)
from hub.models import utcnow as real_utcnow
from hub.spreadsheet import restore_cell

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
PERIOD = ReportFilter(date(2026, 3, 1), date(2026, 3, 7))
QUERY = "from=2026-03-01&to=2026-03-07"


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Make the audit log stamp its next events at ``when``."""
    monkeypatch.setattr("hub.audit.utcnow", lambda: when)


@pytest.fixture
def seeded(app, make_staff, sandbox_account, monkeypatch):  # type: ignore[no-untyped-def]
    """Teams Care (lead Lena) and Sales; Ana, Ben, Lena in Care, Dan in Sales, Cara in Sales
    with Care as an extra team; replies, closes and checks with known times (see the tests)."""
    people = {
        "ana": make_staff("employee", name="Ana"),
        "ben": make_staff("employee", name="Ben"),
        "cara": make_staff("employee", name="Cara"),
        "lena": make_staff("employee", name="Lena"),
        "dan": make_staff("employee", name="Dan"),
        "mo": make_staff("manager", name="Mo"),
        "cy": make_staff("compliance", name="Cy"),
    }
    ids = {k: v.id for k, v in people.items()}
    account = sandbox_account.id
    with job_session(app) as s:
        care = Team(slug="care", name="Care", lead_id=ids["lena"])
        sales = Team(slug="sales", name="Sales")
        s.add_all([care, sales])
        s.flush()
        for key in ("ana", "ben", "lena"):
            s.get(Staff, ids[key]).team_id = care.id
        for key in ("dan", "cara"):
            s.get(Staff, ids[key]).team_id = sales.id
        s.add(StaffTeam(staff_id=ids["cara"], team_id=care.id))

        def mention(n: int, received: datetime, due: datetime | None, first: datetime | None):
            m = Mention(
                platform="sandbox",
                external_id=f"perf-{n}",
                account_id=account,
                author_handle=f"cust{n}",
                text=f"mention {n}",
                created_at=received,
                received_at=received,
                first_response_due_at=due,
                first_response_at=first,
            )
            s.add(m)
            s.flush()
            return m

        feb27 = datetime(2026, 2, 27, 9, 0, tzinfo=UTC)
        m1 = mention(1, T0, T0 + 60 * MIN, T0 + 20 * MIN)
        m2 = mention(2, T0, T0 + 30 * MIN, T0 + 50 * MIN)
        m3 = mention(3, T0, T0 + 60 * MIN, T0 + 10 * MIN)
        m4 = mention(4, feb27, feb27 + 60 * MIN, feb27 + 30 * MIN)
        m5 = mention(5, T0, None, T0 + 40 * MIN)
        m6 = mention(6, T0, T0 + 60 * MIN, T0 + 15 * MIN)
        late_sunday = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
        m7 = mention(7, late_sunday, late_sunday + HOUR, late_sunday + 70 * MIN)

        replies = [
            # (key, author, mention, sent_at)
            ("r1", "ana", m1, T0 + 20 * MIN),  # m1's first response, in time
            ("r2", "ana", m1, T0 + 3 * HOUR),  # a follow-up
            ("r3", "ana", m2, T0 + 50 * MIN),  # m2's first response, 20 min late
            ("r4", "ben", m3, T0 + 10 * MIN),  # m3's first response, in time
            ("r5", "ben", m4, feb27 + 30 * MIN),  # before the period
            ("r6", "ben", m4, datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),  # follow-up in it
            ("r7", "cara", m5, T0 + 40 * MIN),  # first response, m5 has no deadline
            ("r8", "dan", m6, T0 + 15 * MIN),  # first response, in time
            ("r9", "ana", m7, late_sunday + 70 * MIN),  # after the period (Mar 8, 00:10)
        ]
        items = {}
        for key, who, m, sent in replies:
            items[key] = OutboundItem(
                kind="reply",
                account_id=account,
                author_id=ids[who],
                mention_id=m.id,
                text=key,
                state="sent",
                idempotency_key=f"perf-{key}",
                created_at=sent - MIN,
                sent_at=sent,
            )
        # a draft never sent and a sent post: neither is a reply sent
        items["draft"] = OutboundItem(
            kind="reply",
            account_id=account,
            author_id=ids["ana"],
            mention_id=m1.id,
            text="draft",
            state="draft",
            idempotency_key="perf-draft",
            created_at=T0,
        )
        items["post"] = OutboundItem(
            kind="post",
            account_id=account,
            author_id=ids["ana"],
            text="post",
            state="sent",
            idempotency_key="perf-post",
            created_at=T0,
            sent_at=T0 + MIN,
        )
        s.add_all(items.values())
        s.flush()

        def check(who: str, verdict: str, at: datetime, kind: str = "reply") -> PolicyDecision:
            d = PolicyDecision(
                author_id=ids[who],
                text=f"{who} {verdict}",
                verdict=verdict,
                pack_version="perf",
                findings=[],
                platform="sandbox",
                kind=kind,
                created_at=at,
            )
            s.add(d)
            s.flush()
            return d

        for verdict in ("allow", "allow", "review", "block", "warn"):
            check("ana", verdict, T0 + 5 * MIN)
        check("ana", "block", datetime(2026, 2, 28, 12, 0, tzinfo=UTC))  # before the period
        check("ana", "block", T0, kind="post")  # a post, not a reply
        edit = check("ana", "allow", T0 + 2 * HOUR)  # compliance's edit of Ana's reply r3
        s.add(
            ReviewAction(
                outbound_id=items["r3"].id,
                reviewer_id=ids["cy"],
                action="edit_approve",
                decision_id=edit.id,
                at=T0 + 2 * HOUR,
            )
        )
        check("ben", "allow", T0)
        check("ben", "allow", T0)
        check("cara", "review", T0)
        mention_ids = {m.id: n for n, m in enumerate((m1, m2, m3, m4, m5, m6, m7), start=1)}
        care_id, sales_id = care.id, sales.id

    def moves(*steps: tuple[str | None, Any, str, datetime]) -> None:
        for who, m, to, when in steps:
            _at(monkeypatch, when)
            with job_session(app) as s:
                row = s.get(Mention, m.id)
                actor = s.get(Staff, ids[who]) if who else None
                if actor is not None:
                    row.assignee_id = actor.id  # as if a manager had assigned it
                move_mention(s, row, to, actor)
        monkeypatch.setattr("hub.audit.utcnow", real_utcnow)

    moves(
        ("ana", m1, "closed", T0 + 4 * HOUR),  # 4 h after receipt
        ("ben", m3, "closed", T0 + 2 * HOUR),
        ("ben", m3, "open", T0 + 3 * HOUR),  # reopened...
        ("lena", m3, "closed", T0 + 5 * HOUR),  # ...and closed by Lena: hers, 5 h
        ("ana", m2, "closed", datetime(2026, 3, 8, 1, 0, tzinfo=UTC)),  # after the period
        ("dan", m6, "closed", T0 + HOUR),  # 1 h
        (None, m5, "closed", T0 + 6 * HOUR),  # the hub itself: no one's
    )
    return {
        "people": people,
        "ids": ids,
        "care": care_id,
        "sales": sales_id,
        "mentions": mention_ids,
    }


# Hand-computed (times: first response in minutes, time to close in hours):
#   Ana:  replies r1, r2, r3 = 3; first responses r1 20 min, r3 50 min -> median (rank 1 of 2)
#         20.0, p90 (rank ceil(1.8) = 2) 50.0; SLA 1 of 2 = 50.0 %; closed m1 in 4 h;
#         handled {m1, m2} = 2; checks allow, allow, review, block, warn -> held 1, blocked 1,
#         40.0 % (the Feb 28 check, the post and compliance's edit are not counted)
#   Ben:  r4 (first, 10 min, in time) and r6 (follow-up) = 2; SLA 1/1 = 100.0 %; m3's close is
#         Lena's (the last one in the period); handled {m3, m4} = 2; 2 checks, none held
#   Cara: r7, first, 40 min, no deadline -> no SLA figure; handled {m5}; 1 check, held: 100.0 %
#   Lena: no replies; closed m3 in 5 h; handled {m3}
#   Dan:  r8, first, 15 min, in time; closed m6 in 1 h; handled {m6}
#   Mo, Cy: nothing
FIGURES = {
    # handled, replies, firsts, frt med, frt p90, SLA %, closed, close med, close p90,
    # checked, held, blocked, held or blocked %
    "Ana": (2, 3, 2, 20.0, 50.0, 50.0, 1, 4.0, 4.0, 5, 1, 1, 40.0),
    "Ben": (2, 2, 1, 10.0, 10.0, 100.0, 0, None, None, 2, 0, 0, 0.0),
    "Cara": (1, 1, 1, 40.0, 40.0, None, 0, None, None, 1, 1, 0, 100.0),
    "Lena": (1, 0, 0, None, None, None, 1, 5.0, 5.0, 0, 0, 0, None),
    "Dan": (1, 1, 1, 15.0, 15.0, 100.0, 1, 1.0, 1.0, 0, 0, 0, None),
    "Mo": (0, 0, 0, None, None, None, 0, None, None, 0, 0, 0, None),
    "Cy": (0, 0, 0, None, None, None, 0, None, None, 0, 0, 0, None),
}
# Care = Ana, Ben, Lena and Cara (extra team): handled {m1..m5} = 5; replies 6; first
#   responses 10, 20, 40, 50 min -> median rank 2 = 20.0, p90 rank 4 = 50.0; SLA 2 of 3 = 66.7;
#   closed 4 h and 5 h -> median 4.0, p90 5.0; checks 8, held 2, blocked 1 -> 37.5 %
# Sales = Dan and Cara: handled {m5, m6}; replies 2; first 15, 40 -> 15.0, 40.0; SLA 1/1;
#   closed m6 in 1 h; checks 1, held 1 -> 100.0 %
TEAMS = {
    "Care": (4, 5, 6, 4, 20.0, 50.0, 66.7, 2, 4.0, 5.0, 8, 2, 1, 37.5),
    "Sales": (2, 2, 2, 2, 15.0, 40.0, 100.0, 1, 1.0, 1.0, 1, 1, 0, 100.0),
}
# Replies per day for everyone: Mar 2: in time r1, r4, r8; late r3; other r2, r7 (no deadline);
# Mar 3: other r6; the other days nothing.
DAYS = {"2026-03-02": (3, 1, 2, 6), "2026-03-03": (0, 0, 1, 1)}


def _everyone(app: Any) -> dict[str, Any]:
    with job_session(app) as s:
        mo = s.scalars(select(Staff).where(Staff.name == "Mo")).one()
        sel = performance.select_view(s, performance.scope_for(s, mo), None, None)
        return performance.build_tables(s, PERIOD, sel)


def test_figures_match_the_hand_computed_fixture(app, seeded):
    tables = _everyone(app)
    assert {row[0]: row[1:] for row in tables["people"].rows} == FIGURES
    assert {row[0]: row[1:] for row in tables["teams"].rows} == TEAMS
    days = {row[0]: row[1:] for row in tables["days"].rows}
    assert len(days) == 7
    assert days == {d: DAYS.get(d, (0, 0, 0, 0)) for d in (f"2026-03-0{i}" for i in range(1, 8))}


def test_a_period_is_whole_utc_days(app, seeded):
    """Mar 8 holds r9 (00:10) and m2's close (01:00); a period ending Mar 8 counts them."""
    with job_session(app) as s:
        period = performance.collect(s, ReportFilter(date(2026, 3, 8), date(2026, 3, 8)), None)
        ana = period.person(seeded["ids"]["ana"])
    # r9: 70 min after m7 arrived, deadline 60 min -> late; m2 (received Mar 2 09:00) closed
    # Mar 8 01:00: 5 days 16 hours = 136 h
    assert (ana.replies_sent, ana.first_responses, ana.frt_median) == (1, 1, 70 * 60.0)
    assert (ana.sla_met, ana.with_deadline, ana.closed) == (0, 1, 1)
    assert ana.close_median == 136 * 3600.0


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([], None, None),
        ([5.0], 5.0, 5.0),
        ([3.0, 1.0], 1.0, 3.0),
        ([float(i) for i in range(10, 0, -1)], 5.0, 9.0),
        ([float(i) for i in range(1, 12)], 6.0, 10.0),
    ],
)
def test_nearest_rank(values, median, p90):
    assert performance.nearest_rank(values) == (median, p90)


def test_a_real_sent_reply_is_a_first_response(app, make_staff, sandbox_account):
    """Through the real path: ingest sets the deadline, the sender sets first_response_at."""
    from connectors.sandbox import SandboxStore
    from hub.platforms.polling import poll_all
    from hub.publishing.outbox import send_due
    from hub.publishing.replies import SubmitReply, submit_reply

    agent = make_staff("employee", name="Agent")
    SandboxStore(app.config["SANDBOX_URL"]).create_post("dana", "@KestrelFootwear where is it?")
    poll_all(app, force=True)
    with job_session(app) as s:
        mention = s.scalars(select(Mention)).one()
        s.expunge(mention)
    with job_session(app) as s:
        staff = s.get(Staff, agent.id)
        row = s.get(Mention, mention.id)
        claim_mention(s, row, staff)
        result = submit_reply(
            s, SubmitReply(mention.id, "Sorry for the wait! It ships today."), staff
        )
        assert result.item is not None
    assert send_due(app) == {"sent": 1}
    today = datetime.now(UTC).date()
    with job_session(app) as s:
        row = s.get(Mention, mention.id)
        g = performance.collect(s, ReportFilter(today, today), [agent.id]).person(agent.id)
        expected = (row.first_response_at - row.received_at).total_seconds()
    assert (g.replies_sent, g.first_responses, g.sla_met, g.checked) == (1, 1, 1, 1)
    assert g.frt_median == pytest.approx(expected)


# --- who sees whom ---------------------------------------------------------------------------


def _names(html: str, table: str = "people") -> list[str]:
    """The row names of one table on the page."""
    import re

    body = html.split(f'id="table-{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row">(?:<a [^>]*>)?([^<]+)', body)


def test_an_employee_sees_only_their_own_figures(client, login, seeded):
    login(client, seeded["people"]["ana"])
    page = client.get(f"/performance/?{QUERY}")
    assert page.status_code == 200
    assert _names(page.text) == ["Ana"]
    assert 'id="table-teams"' not in page.text
    ben, care = seeded["ids"]["ben"], seeded["care"]
    assert client.get(f"/performance/?{QUERY}&person={ben}").status_code == 403
    assert client.get(f"/performance/?{QUERY}&team={care}").status_code == 403
    assert client.get(f"/performance/people.csv?{QUERY}&person={ben}").status_code == 403
    assert client.get("/performance/leaderboard").status_code == 403


def test_a_lead_sees_their_team_and_not_another(client, login, seeded):
    login(client, seeded["people"]["lena"])
    page = client.get(f"/performance/?{QUERY}")
    assert page.status_code == 200
    assert sorted(_names(page.text)) == ["Ana", "Ben", "Cara", "Lena"]
    assert _names(page.text, "teams") == ["Care"]
    ids = seeded["ids"]
    assert client.get(f"/performance/?{QUERY}&person={ids['ben']}").status_code == 200
    assert client.get(f"/performance/?{QUERY}&person={ids['dan']}").status_code == 403
    assert client.get(f"/performance/?{QUERY}&team={seeded['sales']}").status_code == 403
    assert client.get(f"/performance/teams.csv?{QUERY}&team={seeded['sales']}").status_code == 403
    assert client.get(f"/performance/leaderboard?team={seeded['sales']}").status_code == 403
    assert client.get(f"/performance/?{QUERY}&person=999999").status_code == 403


def test_a_manager_sees_everyone(client, login, seeded):
    login(client, seeded["people"]["mo"])
    page = client.get(f"/performance/?{QUERY}")
    assert sorted(_names(page.text)) == sorted(FIGURES)
    assert _names(page.text, "teams") == ["Care", "Sales"]
    assert client.get(f"/performance/?{QUERY}&team={seeded['sales']}").status_code == 200


def test_compliance_sees_only_their_own(client, login, seeded):
    login(client, seeded["people"]["cy"])
    page = client.get(f"/performance/?{QUERY}")
    assert _names(page.text) == ["Cy"]
    assert client.get(f"/performance/?{QUERY}&person={seeded['ids']['ana']}").status_code == 403


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-03-09&to=2026-03-01", "starts (2026-03-09) after it ends"),
        ("from=yesterday", "must be a date written YYYY-MM-DD"),
        ("days=12", "must be one of 7, 30, 90"),
        ("person=abc", "must be a person&#39;s id"),
    ],
)
def test_a_bad_period_is_a_clear_400(client, login, seeded, query, message):
    login(client, seeded["people"]["mo"])
    page = client.get(f"/performance/?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert client.get(f"/performance/people.csv?{query}").status_code == 400


# --- CSV and the leaderboard ------------------------------------------------------------------


def test_csv_has_the_page_numbers_through_the_formula_safe_writer(app, client, login, seeded):
    import csv

    with job_session(app) as s:
        s.get(Staff, seeded["ids"]["ana"]).name = "=HYPERLINK(1)"
    login(client, seeded["people"]["lena"])
    resp = client.get(f"/performance/people.csv?{QUERY}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        "kestrel-performance-people-2026-03-01_2026-03-07.csv"
        in resp.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0][0] == "person"
    by_name = {r[0]: r for r in rows[1:]}
    assert "'=HYPERLINK(1)" in by_name  # quoted: a spreadsheet shows it as text
    assert restore_cell("'=HYPERLINK(1)") == "=HYPERLINK(1)"
    assert by_name["'=HYPERLINK(1)"][1:] == [
        "" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))
        for v in FIGURES["Ana"]
    ]
    days = list(csv.reader(io.StringIO(client.get(f"/performance/days.csv?{QUERY}").text)))
    assert len(days) == 8


def test_leaderboard_ranks_the_leads_team(client, login, seeded):
    login(client, seeded["people"]["lena"])
    page = client.get(f"/performance/leaderboard?{QUERY}")
    assert page.status_code == 200
    assert '<meta http-equiv="refresh"' in page.text and "<script" not in page.text
    body = page.text
    replies = body.split('id="board-replies"', 1)[1].split("</ol>", 1)[0]
    # Ana 3, Ben 2, Cara 1; Lena sent none, Dan is not in Care
    assert [n for n in ("Ana", "Ben", "Cara", "Lena", "Dan") if f">{n}<" in replies] == [
        "Ana",
        "Ben",
        "Cara",
    ]
    assert replies.index(">Ana<") < replies.index(">Ben<") < replies.index(">Cara<")
    frt = body.split('id="board-frt"', 1)[1].split("</ol>", 1)[0]
    assert frt.index(">Ben<") < frt.index(">Ana<") < frt.index(">Cara<")  # 10, 20, 40 min
    sla = body.split('id="board-sla"', 1)[1].split("</ol>", 1)[0]
    assert sla.index(">Ben<") < sla.index(">Ana<") and ">Cara<" not in sla


def test_ties_share_a_rank():
    rows = performance.rank_rows([("B", 2, "2"), ("A", 2, "2"), ("C", 1, "1")], best_first=True)
    assert rows == [(1, "A", "2"), (1, "B", "2"), (3, "C", "1")]


def test_the_demo_gives_each_staffed_team_a_lead(app, tmp_path):
    from hub.demo import load_demo

    with job_session(app) as s:
        load_demo(s, app, tmp_path / "demo-accounts.txt")
    with job_session(app) as s:
        leads = {
            t.slug: s.get(Staff, t.lead_id).email if t.lead_id else None
            for t in s.scalars(select(Team))
        }
    assert leads["care"] == "manager@kestrel.example"
    assert leads["social"] == "employee@kestrel.example"
    assert leads["spanish"] is None  # no demo staff in it


def test_people_who_left_are_listed_only_for_a_period_they_worked_in(app, seeded):
    with job_session(app) as s:
        for key in ("dan", "cy"):  # Dan sent a reply in the period, Cy did nothing
            s.get(Staff, seeded["ids"][key]).active = False
    names = [row[0] for row in _everyone(app)["people"].rows]
    assert "Dan" in names and "Cy" not in names


def test_the_daily_chart_stacks_the_three_kinds_of_reply(app, seeded):
    from hub.compliance.present import trend_chart

    chart = trend_chart(_everyone(app)["days"], series=performance.SERIES, what="Replies sent")
    assert [(b.verdict, b.label) for b in chart.bars] == [
        ("in_time", "2026-03-02: 3 first responses in time"),
        ("late", "2026-03-02: 1 first responses late"),
        ("other", "2026-03-02: 2 other replies"),
        ("other", "2026-03-03: 1 other replies"),
    ]
    assert chart.max_total == 6
    assert chart.summary.startswith("Replies sent per day from 2026-03-01 to 2026-03-07: 7 in all")


def test_the_period_is_read_through_indexes(app, seeded):
    """The replies, closes and checks of a period come from index ranges, not table scans."""
    from sqlalchemy import event

    engine = app.extensions["hub.engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with job_session(app) as s:
            performance.collect(s, PERIOD, [seeded["ids"]["ana"]])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, params in statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            plans.append(" | ".join(str(r[-1]) for r in rows))
    assert len(plans) == 3
    assert "USING INDEX ix_outbound_sent" in plans[0]
    assert "USING INDEX ix_audit_action_at" in plans[1]
    assert "USING INDEX ix_decisions_author_time" in plans[2]
    assert not any("SCAN outbound_items" in p or "SCAN audit_events" in p for p in plans)
