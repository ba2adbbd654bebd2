"""Compliance reports: every table checked against counts computed here in plain Python.

A seeded random world of decisions, findings, posts and review actions spans days inside and
outside the period, three platforms and two teams; the expected numbers come from the same
inputs without SQL, and the service, the page and the CSV must all agree with them.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from hub.compliance import reports
from hub.compliance.present import trend_chart
from hub.db import job_session, reserve_ids
from hub.models import (
    DailySummary,
    DecisionFinding,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
    Staff,
    Team,
)

START, END = date(2026, 3, 1), date(2026, 3, 10)
START_AT = datetime(2026, 3, 1, tzinfo=UTC)
END_AT = datetime(2026, 3, 11, tzinfo=UTC)
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}
RULES = [
    ("g5-customer-data", "G5", "block"),
    ("g3-offensive", "G3", "block"),
    ("g6-disclosure", "G6", "review"),
    ("g14-links", "G14", "review"),
    ("g8-competitor-trash-talk", "G8", "warn"),
    ("g10-stiff-tone", "G10", "warn"),
    ("g9-boilerplate", "G9", "warn"),
]
COUNTED = ("scheduled", "sending", "sent", "approved", "in_review")
STATES = ("sent", "scheduled", "approved", "rejected", "in_review", "draft", "withdrawn")
TEXTS = [
    "Thanks for reaching out, we'll check your order",
    '=HYPERLINK("http://evil.example","click")',
    "<script>alert('x')</script> our new trail shoe is 20% off",
    "+1 for the new Ridge runner, grab it in the shop",
    "@everyone our sale starts friday",
    "Sorry to hear that — DM us your order number " * 5,
]


@dataclass
class World:
    """The inputs as plain Python objects, to compute expectations without SQL."""

    names: dict[int, str]
    teams: dict[str, int]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def world(app, make_staff, sandbox_account) -> World:
    rng = random.Random(20260301)
    with job_session(app) as s:
        a, b = Team(slug="care", name="Care"), Team(slug="social", name="Social")
        s.add_all([a, b])
        s.flush()
        teams = {"Care": a.id, "Social": b.id}
    people = [
        make_staff("employee", name="Ana Care"),
        make_staff("employee", name="=cmd|' /C calc'!A0"),
        make_staff("employee", name="Bo Social"),
        make_staff("employee", name="-Nobody"),
    ]
    home_team = [teams["Care"], teams["Care"], teams["Social"], None]
    reviewer = make_staff("compliance", name="Rita Reviewer")
    with job_session(app) as s:
        for person, team_id in zip(people, home_team, strict=True):
            s.get(Staff, person.id).team_id = team_id  # type: ignore[union-attr]
    w = World(names={p.id: p.name for p in [*people, reviewer]}, teams=teams)

    used: set[datetime] = set()

    def when() -> datetime:
        while True:
            t = datetime(2026, 2, 25, tzinfo=UTC) + timedelta(seconds=rng.randrange(18 * 86400))
            if t not in used:
                used.add(t)
                return t

    fixed = [
        START_AT,  # first instant: in
        START_AT - timedelta(microseconds=1),  # last instant before: out
        END_AT - timedelta(seconds=1),  # last second of the last day: in
        END_AT,  # first instant after: out
    ]
    with job_session(app) as s:
        # ids handed out up front (the hub's own reserve_ids), so the rows go in as a few
        # batched INSERTs, parents first, instead of a flush (a round trip) after each row
        decision_ids = iter(reserve_ids(s, PolicyDecision, 260))
        item_ids = iter(reserve_ids(s, OutboundItem, 260))
        rows: dict[type, list[Any]] = defaultdict(list)
        for i in range(260):
            created = fixed[i] if i < len(fixed) else when()
            who = rng.randrange(len(people))
            # the team is the author's team at decision time, which sometimes differs from now
            team_id = home_team[who] if rng.random() < 0.85 else teams["Social"]
            kind = "post" if rng.random() < 0.45 else "reply"
            d = PolicyDecision(
                id=next(decision_ids),
                author_id=people[who].id,
                text=rng.choice(TEXTS) + f" #{i}",
                verdict=rng.choices(("allow", "warn", "review", "block"), (5, 3, 2, 2))[0],
                pack_version="test",
                findings=[],
                platform=rng.choice(("x", "bluesky", "sandbox")),
                kind=kind,
                is_product=(rng.random() < 0.4) if kind == "post" else None,
                team_id=team_id,
                created_at=created,
            )
            rows[PolicyDecision].append(d)
            drow = {
                "id": d.id,
                "author": d.author_id,
                "text": d.text,
                "verdict": d.verdict,
                "platform": d.platform,
                "team": team_id,
                "at": created,
                "kind": kind,
                "product": d.is_product,
            }
            w.decisions.append(drow)
            w.by_id[d.id] = drow
            for rule, guideline, severity in rng.sample(RULES, rng.choice((0, 0, 1, 1, 2, 3))):
                rows[DecisionFinding].append(
                    DecisionFinding(
                        decision_id=d.id,
                        rule_id=rule,
                        guideline=guideline,
                        severity=severity,
                        created_at=created,
                    )
                )
                w.findings.append(
                    {"decision": d.id, "rule": rule, "guideline": guideline, "sev": severity}
                )
            if kind != "post":
                continue
            state = rng.choice(STATES)
            reviewed = state in ("sent", "scheduled", "approved", "rejected", "in_review")
            started = created + timedelta(minutes=rng.randint(0, 30)) if reviewed else None
            item = OutboundItem(
                id=next(item_ids),
                kind="post",
                account_id=sandbox_account.id,
                author_id=d.author_id,
                text=d.text,
                state=state,
                idempotency_key=f"k{i}",
                decision_id=d.id,
                created_at=created,
                review_started_at=started,
            )
            rows[OutboundItem].append(item)
            w.items.append(
                {
                    "id": item.id,
                    "decision": d.id,
                    "author": d.author_id,
                    "state": state,
                    "at": created,
                    "started": started,
                }
            )
            if started is None or rng.random() < 0.15:
                continue  # some reviews have no action yet
            t = started
            for _ in range(rng.choice((1, 1, 2))):
                t = t + timedelta(minutes=rng.randint(1, 900))
                action = rng.choice(("approve", "reject", "edit_approve", "override"))
                reason = rng.choice((None, "customer asked", "=SUM(A1:A9)", "ok <b>bold</b>"))
                rows[ReviewAction].append(
                    ReviewAction(
                        outbound_id=item.id,
                        reviewer_id=reviewer.id,
                        action=action,
                        reason=reason,
                        at=t,
                    )
                )
                w.actions.append({"item": item.id, "action": action, "reason": reason, "at": t})
        for model in (PolicyDecision, DecisionFinding, OutboundItem, ReviewAction):
            s.add_all(rows[model])
            s.flush()
    return w


# --- the expectations, in plain Python -------------------------------------------------------


def _inside(t: datetime, start: datetime = START_AT, end: datetime = END_AT) -> bool:
    return start <= t < end


def _matches(d: dict[str, Any], platform: str | None, team: int | None) -> bool:
    return (platform is None or d["platform"] == platform) and (team is None or d["team"] == team)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def expected_tables(
    w: World, platform: str | None = None, team: int | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every report table computed from the World lists (no SQL)."""
    ds = [d for d in w.decisions if _inside(d["at"]) and _matches(d, platform, team)]
    chosen = {d["id"] for d in ds}
    out: dict[str, list[tuple[Any, ...]]] = {}

    verdicts = Counter(d["verdict"] for d in ds)
    out["verdicts"] = [(v, verdicts[v], _pct(verdicts[v], len(ds))) for v in reports.VERDICTS]
    out["verdicts"].append(("total", len(ds), _pct(len(ds), len(ds))))

    fs = [f for f in w.findings if f["decision"] in chosen]
    per: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f in fs:
        per[(f["guideline"], f["sev"])].append(f["decision"])
    out["guidelines"] = sorted(
        ((g, s, len(ids), len(set(ids))) for (g, s), ids in per.items()),
        key=lambda r: (-r[2], r[0], r[1]),
    )

    def breakdown(key: Any, name: Any) -> list[tuple[Any, ...]]:
        groups: dict[Any, Counter[str]] = defaultdict(Counter)
        for d in ds:
            groups[key(d)][d["verdict"]] += 1
        rows = []
        for k, c in groups.items():
            n = sum(c.values())
            rows.append((name(k), n, c["warn"], c["review"], c["block"], _pct(c["block"], n)))
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    team_names = {v: k for k, v in w.teams.items()} | {None: "(no team)"}
    out["employees"] = breakdown(lambda d: d["author"], lambda k: w.names[k])
    out["teams"] = breakdown(lambda d: d["team"], lambda k: team_names[k])
    out["platforms"] = breakdown(lambda d: d["platform"], lambda k: k)

    trend = []
    for i in range((END - START).days + 1):
        day = START + timedelta(days=i)
        c = Counter(d["verdict"] for d in ds if d["at"].date() == day)
        trend.append((day.isoformat(), *[c[v] for v in reports.VERDICTS], sum(c.values())))
    out["trend"] = trend

    rules = Counter((f["rule"], f["guideline"]) for f in fs)
    top = sorted(rules.items(), key=lambda kv: (-kv[1], kv[0][0]))[: reports.TOP_FINDINGS]
    rows = []
    for (rule, guideline), n in top:
        with_rule = sorted(
            (w.by_id[f["decision"]] for f in fs if f["rule"] == rule),
            key=lambda d: d["at"],
            reverse=True,
        )[:3]
        examples = [_short(d["text"]) for d in with_rule] + [""] * 3
        rows.append((rule, guideline, n, *examples[:3]))
    out["top_findings"] = rows

    mix: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for it in w.items:
        d = w.by_id[it["decision"]]
        if it["state"] in COUNTED and _inside(it["at"]) and _matches(d, platform, team):
            mix[it["author"]][0] += 1
            mix[it["author"]][1] += 1 if d["product"] else 0
    mix_rows = [
        (w.names[a], n, p, _pct(p, n), "over limit" if p / n > 0.25 else "")
        for a, (n, p) in mix.items()
    ]
    out["mix"] = sorted(mix_rows, key=lambda r: (-(r[3] or 0.0), -r[1], r[0]))

    waits: dict[str, list[float]] = defaultdict(list)
    for it in w.items:
        acts = [a["at"] for a in w.actions if a["item"] == it["id"]]
        if not acts or it["started"] is None or it["state"] == "in_review":
            continue
        last = max(acts)
        d = w.by_id[it["decision"]]
        if _inside(last) and last >= it["started"] and _matches(d, platform, team):
            waits[last.date().isoformat()].append((last - it["started"]).total_seconds())
    every = [x for v in waits.values() for x in v]
    groups = sorted(waits.items()) + ([("all", every)] if every else [])
    out["review_time"] = [
        (g, len(v), round(_rank(v, 0.5) / 60, 1), round(_rank(v, 0.9) / 60, 1)) for g, v in groups
    ]

    items = {it["id"]: it for it in w.items}
    overrides = [
        a
        for a in w.actions
        if a["action"] == "override"
        and _inside(a["at"])
        and _matches(w.by_id[items[a["item"]]["decision"]], platform, team)
    ]
    overrides.sort(key=lambda a: a["at"], reverse=True)
    out["overrides"] = [
        (
            a["at"],
            "Rita Reviewer",
            w.names[items[a["item"]]["author"]],
            a["reason"] or "",
            a["item"],
        )
        for a in overrides
    ]
    return out


def _rank(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the ceil(q·n)-th smallest value."""
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:119] + "…"


class _Tables(HTMLParser):
    """Cells of every <table id=...> in a page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._current = dict(attrs).get("id") or ""
            self.tables[self._current] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and dict(attrs).get("class") != "empty":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._current is not None:
            self.tables[self._current].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _formatted(rows: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[reports.format_cell(c) for c in row] for row in rows]


# --- the service -----------------------------------------------------------------------------


@pytest.mark.parametrize("filtered", [False, True], ids=["all", "platform+team"])
def test_every_table_equals_plain_python(app, session, world, filtered):
    platform, team = ("x", world.teams["Care"]) if filtered else (None, None)
    f = reports.ReportFilter(START, END, platform, team)
    expected = expected_tables(world, platform, team)
    got = reports.build_report(session, f)
    assert set(got) == set(expected)
    for name, rows in expected.items():
        assert got[name].rows == rows, name
    # the world is rich enough that every table has something to compare
    assert all(expected[name] for name in expected), [n for n in expected if not expected[n]]
    assert sum(r[1] for r in expected["verdicts"][:-1]) < len(world.decisions)


def test_the_boundaries_of_the_period_are_whole_utc_days(session, world):
    rows = reports.verdict_table(session, reports.ReportFilter(START, START)).rows
    first_day = [d for d in world.decisions if START_AT <= d["at"] < START_AT + timedelta(days=1)]
    assert rows[-1] == ("total", len(first_day), 100.0 if first_day else None)
    assert any(d["at"] == START_AT for d in first_day)


# --- the page and the CSV --------------------------------------------------------------------


@pytest.fixture
def officer(client, login, make_staff):
    login(client, make_staff("compliance", name="Olga Officer"))
    return client


PAGE_TABLES = [
    "verdicts",
    "guidelines",
    "employees",
    "teams",
    "platforms",
    "trend",
    "mix",
    "review_time",
]


@pytest.mark.parametrize("filtered", [False, True], ids=["all", "platform+team"])
def test_page_shows_the_expected_numbers(officer, world, filtered):
    args = dict(PERIOD)
    platform, team = ("bluesky", world.teams["Social"]) if filtered else (None, None)
    if filtered:
        args |= {"platform": "bluesky", "team": str(team)}
    resp = officer.get("/reports/", query_string=args)
    assert resp.status_code == 200, resp.text[:500]
    tables = page_tables(resp.text)
    expected = expected_tables(world, platform, team)
    for name in PAGE_TABLES:
        assert tables[f"table-{name}"] == _formatted(expected[name]), name
    findings = tables["table-top_findings"]
    assert [(r[0], r[1], r[2]) for r in findings] == [
        (r[0], r[1], str(r[2])) for r in expected["top_findings"]
    ]
    overrides = tables["table-overrides"]
    assert [r[:4] for r in overrides] == [r[:4] for r in _formatted(expected["overrides"])]


def test_page_escapes_drafts_and_draws_an_accessible_chart(officer, world):
    html = officer.get("/reports/", query_string=PERIOD).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html
    assert 'role="img"' in html and 'aria-labelledby="trend-title trend-desc"' in html
    assert '<title id="trend-title">' in html
    assert "<rect" in html and 'class="bar block"' in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("name", list(reports.TABLES))
def test_csv_round_trips_the_numbers(officer, session, world, name):
    resp = officer.get(f"/reports/{name}.csv", query_string=PERIOD)
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "charset=utf-8" in resp.headers["Content-Type"]
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "2026-03-01_2026-03-10" in disposition
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    assert header == list(reports.TABLES[name](session, reports.ReportFilter(START, END)).columns)
    expected = _formatted(expected_tables(world)[name])
    neutral = [
        [("'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c) for c in r] for r in expected
    ]
    assert body == neutral
    assert body, name


def test_csv_matches_the_page_cell_for_cell(officer, world):
    page = page_tables(officer.get("/reports/", query_string=PERIOD).text)
    for name in ("verdicts", "employees", "platforms", "review_time"):
        text = officer.get(f"/reports/{name}.csv", query_string=PERIOD).data.decode("utf-8")
        body = list(csv.reader(io.StringIO(text)))[1:]
        unquoted = [[c[1:] if c.startswith("'") else c for c in r] for r in body]
        assert unquoted == page[f"table-{name}"], name


def test_csv_neutralises_formula_cells(officer, world):
    text = officer.get("/reports/employees.csv", query_string=PERIOD).data.decode("utf-8")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'-Nobody" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    text = officer.get("/reports/top_findings.csv", query_string=PERIOD).data.decode("utf-8")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)
    assert any(c.startswith("'+1 for") for c in cells) or any(
        c.startswith("'@every") for c in cells
    )
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


def test_table_csv_quotes_every_dangerous_start():
    table = reports.Table(
        "t", "T", ("a",), [(s,) for s in ("=1", "+1", "-1", "@a", "\tx", "\rx", "ok")]
    )
    rows = list(csv.reader(io.StringIO(reports.table_csv(table), newline="")))
    assert [r[0] for r in rows[1:]] == ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "ok"]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "2026-02-30", "to": "2026-03-01"}, "not a real date"),
        ({"from": "01/03/2026"}, "YYYY-MM-DD"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "starts (2026-03-10) after it ends"),
        ({"from": "2000-01-01", "to": "2026-03-01"}, "at most"),
        ({"days": "12"}, "'days' must be one of 7, 30, 90"),
        ({"team": "care"}, "'team' must be a team id"),
        ({"platform": "X; DROP"}, "'platform' must be"),
    ],
)
def test_invalid_period_is_a_400_with_a_message(officer, args, message):
    resp = officer.get("/reports/", query_string=args)
    assert resp.status_code == 400
    assert message in resp.text.replace("&#39;", "'")
    resp = officer.get("/reports/verdicts.csv", query_string=args)
    assert resp.status_code == 400
    assert message in resp.text.replace("&#39;", "'")


def test_every_problem_is_reported_at_once():
    with pytest.raises(reports.ReportInputError) as err:
        reports.parse_filter({"from": "x", "to": "y", "team": "z"}, date(2026, 3, 1))
    assert len(err.value.messages) == 3


@pytest.mark.parametrize(
    ("args", "start", "end"),
    [
        ({}, date(2026, 2, 1), date(2026, 3, 2)),
        ({"days": "7"}, date(2026, 2, 24), date(2026, 3, 2)),
        ({"days": "90"}, date(2025, 12, 3), date(2026, 3, 2)),
        ({"to": "2026-01-31"}, date(2026, 1, 2), date(2026, 1, 31)),
        ({"from": "2026-02-20", "days": "7"}, date(2026, 2, 20), date(2026, 3, 2)),
    ],
)
def test_presets_and_defaults(args, start, end):
    f = reports.parse_filter(args, date(2026, 3, 2))
    assert (f.start, f.end) == (start, end)


def test_default_page_is_the_last_30_days(officer):
    resp = officer.get("/reports/")
    assert resp.status_code == 200
    assert "(30 days, UTC)" in resp.text


# --- daily summary ---------------------------------------------------------------------------


def _expected_summary(w: World, day: date) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    ds = [d for d in w.decisions if _inside(d["at"], start, end)]
    verdicts = Counter(d["verdict"] for d in ds)
    ids = {d["id"] for d in ds}
    guidelines = Counter(f["guideline"] for f in w.findings if f["decision"] in ids)
    top = sorted(guidelines.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    posts = [it for it in w.items if it["state"] in COUNTED and _inside(it["at"], start, end)]
    product = sum(1 for it in posts if w.by_id[it["decision"]]["product"])
    in_review = sum(
        1
        for it in w.items
        if it["started"] is not None
        and it["started"] < end
        and (
            it["state"] == "in_review"
            or any(a["item"] == it["id"] and a["at"] >= end for a in w.actions)
        )
    )
    return {
        "day": day.isoformat(),
        "decisions": len(ds),
        "verdicts": {v: verdicts[v] for v in reports.VERDICTS},
        "top_guidelines": [[g, n] for g, n in top],
        "overrides": sum(
            1 for a in w.actions if a["action"] == "override" and _inside(a["at"], start, end)
        ),
        "in_review": in_review,
        "posts": len(posts),
        "product_posts": product,
        "product_share": _pct(product, len(posts)),
    }


def test_daily_summary_is_idempotent_and_correct(app, world):
    day = date(2026, 3, 4)
    with job_session(app) as s:
        reports.store_daily_summary(s, day)
    with job_session(app) as s:
        reports.store_daily_summary(s, day)
        rows = s.query(DailySummary).all()
        assert len(rows) == 1
        assert rows[0].data == _expected_summary(world, day)
        assert rows[0].data["decisions"] > 0


def test_run_daily_summary_does_yesterday(app, make_staff):
    author = make_staff("employee")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with job_session(app) as s:
        s.add(
            PolicyDecision(
                author_id=author.id,
                text="hello",
                verdict="block",
                pack_version="t",
                findings=[],
                platform="x",
                created_at=datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=UTC),
            )
        )
    reports.run_daily_summary(app)
    reports.run_daily_summary(app)
    with job_session(app) as s:
        rows = s.query(DailySummary).all()
        assert [r.day for r in rows] == [yesterday.isoformat()]
        assert rows[0].data["verdicts"]["block"] == 1


def test_page_lists_the_last_14_summaries(app, officer):
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(16)]
    with job_session(app) as s:
        for i, day in enumerate(days):
            s.add(DailySummary(day=day.isoformat(), data={"decisions": i, "verdicts": {}}))
    table = page_tables(officer.get("/reports/").text)["table-summaries"]
    assert [r[0] for r in table] == [d.isoformat() for d in reversed(days)][:14]
    assert table[0][1] == "15"


def test_parse_day():
    assert reports.parse_day("2026-03-04") == date(2026, 3, 4)
    with pytest.raises(reports.ReportInputError):
        reports.parse_day("yesterday")


def test_item_links_follow_the_review_blueprint():
    from flask import Blueprint, Flask

    from hub import ids

    app = Flask(__name__)
    ids.init_app(app)
    assert reports.item_url_builder(app)(5) is None
    review = Blueprint("review", __name__, url_prefix="/review")
    review.add_url_rule("/<id:item_id>", "show", lambda item_id: "")
    review.add_url_rule("/<id:item_id>/approve", "approve", lambda item_id: "", methods=["POST"])
    app.register_blueprint(review)
    with app.test_request_context():
        assert reports.item_url_builder(app)(5) == "/review/5"


def test_trend_chart_scales_to_the_busiest_day():
    table = reports.Table(
        "trend",
        "T",
        ("day", *reports.VERDICTS, "total"),
        [
            ("2026-03-01", 2, 0, 0, 2, 4),
            ("2026-03-02", 0, 0, 0, 0, 0),
            ("2026-03-03", 1, 1, 0, 0, 2),
        ],
    )
    chart = trend_chart(table)
    assert chart.max_total == 4
    first_day = [b for b in chart.bars if b.label.startswith("2026-03-01")]
    assert sum(b.height for b in first_day) == pytest.approx(chart.plot_bottom - chart.plot_top)
    assert [b.label for b in chart.bars] == [
        "2026-03-01: 2 allow",
        "2026-03-01: 2 block",
        "2026-03-03: 1 allow",
        "2026-03-03: 1 warn",
    ]
