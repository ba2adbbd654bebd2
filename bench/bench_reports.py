"""Benchmark: the compliance report pages over a million policy decisions, and a naive baseline.

Seeds a throwaway database (SQLite by default, PostgreSQL with --postgresql) migrated with
hub.migrate.upgrade: ``--rows`` decisions (default 1,000,000) over 365 days by 200 staff in 7
teams, about 1.3 findings each, an outbound item per post and review actions for held posts. The
seed writes with bulk Core inserts, which bypass the ORM flush that keeps the report rollups, so
it then recounts them with ``hub.compliance.rollups.rebuild`` (what migrations 0017 and 0019 run;
timed).

Then, signed in as a compliance officer through the Flask test client, times the report page and
every CSV export for the last 30 and 365 days (p50/p95 over ``--requests`` requests), and the
baseline: the same page with today's query (``reports.raw_queries``: the raw-decision aggregation
the page ran before the rollups), over ``--baseline-requests`` requests. Prints the ratio
baseline / ours for the page and records the figures in bench/results.json ("reports", one entry
per database). ``--naive`` adds the older baseline: the period's decisions through the ORM,
counted in Python.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, literal_column, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results import PATH as RESULTS_PATH  # noqa: E402
from results import record  # noqa: E402
from scratch import scratch_database  # noqa: E402

from hub.auth import hash_password  # noqa: E402
from hub.compliance import reports  # noqa: E402
from hub.compliance.reports import TABLES  # noqa: E402
from hub.compliance.rollups import rebuild  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.migrate import upgrade  # noqa: E402
from hub.models import (  # noqa: E402
    DecisionFinding,
    OutboundItem,
    PlatformAccount,
    PolicyDecision,
    ReviewAction,
    Staff,
    Team,
)

PASSWORD = "bench-password"
VERDICTS = ("allow", "warn", "review", "block")
PLATFORMS = ("x", "bluesky", "sandbox")
RULES = {
    "warn": [
        ("g8-competitor-trash-talk", "G8"),
        ("g9-boilerplate", "G9"),
        ("g10-stiff-tone", "G10"),
        ("g10-language", "G10"),
    ],
    "review": [
        ("g6-disclosure", "G6"),
        ("g7-content-mix", "G7"),
        ("g11-political", "G11"),
        ("g14-links", "G14"),
        ("g15-press-legal", "G15"),
        ("g16-asking-for-data", "G16"),
    ],
    "block": [
        ("g5-customer-data", "G5"),
        ("g3-offensive", "G3"),
        ("g2-disparagement", "G2"),
        ("g4-codenames", "G4"),
        ("g4-unreleased", "G4"),
        ("g12-promises", "G12"),
        ("g13-medical-claims", "G13"),
        ("platform-length", "platform"),
    ],
}
TEXTS = [
    "Thanks for reaching out! We're looking into order {n} right now.",
    "Our new Ridge Runner is 20% off this weekend, grab a pair in the shop",
    "Sorry about the delay, the courier says your parcel arrives tomorrow ({n})",
    "Honestly the other brand's shoes fall apart after a month",
    "Can you DM us your email and phone so we can fix this? #{n}",
    "Loved seeing you at the trail run on Saturday!",
    "We can't comment on the Q3 numbers, but stay tuned",
    "Per our policy, kindly be advised that your request has been processed.",
]
BATCH = 50_000
BASELINE_LABEL = "baseline: today's query"


def _cumulative(weights: list[float]) -> list[float]:
    """Cumulative weights, so random.choices need not add them up on every call."""
    return list(itertools.accumulate(weights))


def seed(engine: Engine, rows: int, today: date, rng: random.Random) -> dict[str, int]:
    """Bulk-insert the data set with Core executemany in big transactions; returns counts."""
    t0 = time.perf_counter()
    start = datetime.combine(today - timedelta(days=364), datetime.min.time(), UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Team),
            [{"id": i + 1, "slug": f"team{i + 1}", "name": f"Team {i + 1}"} for i in range(7)],
        )
        dummy = hash_password("not-used-123")
        conn.execute(
            insert(Staff),
            [
                {
                    "id": i + 1,
                    "email": f"staff{i + 1}@bench.test",
                    "name": f"Staff {i + 1:03d}",
                    "password_hash": dummy,
                    "role": "employee",
                    "languages": ["en"],
                    "team_id": i % 7 + 1,
                    "active": True,
                    "created_at": start,
                }
                for i in range(200)
            ],
        )
        conn.execute(
            insert(Staff),
            [
                {
                    "id": 201,
                    "email": "officer@bench.test",
                    "name": "Bench Officer",
                    "password_hash": hash_password(PASSWORD),
                    "role": "compliance",
                    "languages": ["en"],
                    "team_id": None,
                    "active": True,
                    "created_at": start,
                }
            ],
        )
        conn.execute(
            insert(PlatformAccount),
            [
                {
                    "id": i + 1,
                    "platform": p,
                    "handle": "Kestrel",
                    "active": True,
                    "config": {},
                    "error_count": 0,
                }
                for i, p in enumerate(("x", "bluesky", "sandbox"))
            ],
        )
    authors = list(range(1, 201))
    author_w = _cumulative([1.0 / (i + 1) ** 0.7 for i in range(200)])
    verdict_w = _cumulative([70, 15, 9, 6])
    platform_w = _cumulative([45, 30, 25])
    # the same JSON for every row: put it in the SQL once rather than encoding it per row
    decision_insert = insert(PolicyDecision).values(findings=literal_column("'[]'"))
    span = 365 * 86400
    # sorted times: ids grow with time, as they do in a real hub
    times = sorted(rng.randrange(span * 1000) for _ in range(rows))
    counts: Counter[str] = Counter()
    next_finding = next_item = next_action = 1
    for lo in range(0, rows, BATCH):
        decisions, findings, items, actions = [], [], [], []
        for i in range(lo, min(rows, lo + BATCH)):
            did = i + 1
            at = start + timedelta(milliseconds=times[i])
            author = rng.choices(authors, cum_weights=author_w)[0]
            verdict = rng.choices(VERDICTS, cum_weights=verdict_w)[0]
            kind = "post" if rng.random() < 0.2 else "reply"
            platform = rng.choices(PLATFORMS, cum_weights=platform_w)[0]
            is_product = (rng.random() < 0.3) if kind == "post" else None
            decisions.append(
                {
                    "id": did,
                    "outbound_id": None,
                    "author_id": author,
                    "text": rng.choice(TEXTS).format(n=did),
                    "verdict": verdict,
                    "pack_version": "bench",
                    "platform": platform,
                    "elapsed_ms": 1.0,
                    "is_product": is_product,
                    "created_at": at,
                    "kind": kind,
                    "team_id": (author - 1) % 7 + 1,
                }
            )
            n = rng.choice((0, 1, 1, 2, 2)) if verdict == "allow" else rng.choice((1, 1, 2, 3))
            pool = RULES["warn"] if verdict in ("allow", "warn") else RULES[verdict]
            for k in range(n):
                rule, guideline = rng.choice(pool if k == 0 else RULES["warn"])
                severity = "warn" if k or verdict == "allow" else verdict
                findings.append(
                    {
                        "id": next_finding,
                        "decision_id": did,
                        "rule_id": rule,
                        "guideline": guideline,
                        "severity": severity,
                        "created_at": at,
                    }
                )
                next_finding += 1
            if kind != "post":
                continue
            held = verdict == "review" or (verdict == "block" and rng.random() < 0.2)
            started = at + timedelta(seconds=rng.randrange(5, 120)) if held else None
            state = "sent"
            if verdict == "block" and not held:
                state = "draft"
            elif held and at > start + timedelta(days=363):
                state = "in_review"
            elif held and rng.random() < 0.15:
                state = "rejected"
            items.append(
                {
                    "id": next_item,
                    "kind": "post",
                    "account_id": ("x", "bluesky", "sandbox").index(platform) + 1,
                    "author_id": author,
                    "mention_id": None,
                    "text": decisions[-1]["text"],
                    "state": state,
                    "idempotency_key": f"b{did}",
                    "attempts": 0,
                    "decision_id": did,
                    "created_at": at,
                    "updated_at": at,
                    "review_started_at": started,
                    "required_approvals": 1,
                }
            )
            if held and state != "in_review":
                assert started is not None
                wait = timedelta(minutes=rng.expovariate(1 / 90))
                action = (
                    "override"
                    if verdict == "block"
                    else ("reject" if state == "rejected" else "approve")
                )
                actions.append(
                    {
                        "id": next_action,
                        "outbound_id": next_item,
                        "reviewer_id": 201,
                        "action": action,
                        "reason": "bench: fine in context" if action != "approve" else None,
                        "decision_id": None,
                        "at": started + wait,
                    }
                )
                next_action += 1
            next_item += 1
        with engine.begin() as conn:
            conn.execute(decision_insert, decisions)
            conn.execute(insert(DecisionFinding), findings)
            if items:
                conn.execute(insert(OutboundItem), items)
            if actions:
                conn.execute(insert(ReviewAction), actions)
        counts.update(
            decisions=len(decisions), findings=len(findings), items=len(items), actions=len(actions)
        )
        print(
            f"  seeded {min(rows, lo + BATCH):>9,} decisions  ({time.perf_counter() - t0:5.1f} s)",
            end="\r",
            flush=True,
        )
    print(
        f"  seeded {rows:,} decisions, {counts['findings']:,} findings, "
        f"{counts['items']:,} posts, {counts['actions']:,} review actions "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    t1 = time.perf_counter()
    with engine.begin() as conn:
        rebuild(conn)
    counts["rollup_rebuild_ms"] = round((time.perf_counter() - t1) * 1000.0)
    with engine.begin() as conn:
        # the statistics a real database gathers by itself (autovacuum; SQLite's optimize)
        conn.execute(text("ANALYZE"))
        for table in ("decision_rollups", "verdict_rollups", "finding_rollups", "mix_rollups"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    print(
        f"  counted the rollups in {counts['rollup_rebuild_ms'] / 1000:.1f} s: "
        f"{counts['decision_rollups']:,} decision, {counts['verdict_rollups']:,} verdict, "
        f"{counts['finding_rollups']:,} finding and {counts['mix_rollups']:,} mix rollup rows"
    )
    return dict(counts)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed(fn: Callable[[], Any], n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per call of fn, after one warm-up call.

    CPU time (this process: Flask, SQLAlchemy and, on SQLite, the database itself) shows what
    the work costs when the machine is shared; wall time is what a user waits.
    """
    fn()
    wall, cpu = [], []
    gc.collect()
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def _stats(ms: list[float]) -> str:
    return f"{statistics.median(ms):9.1f} {percentile(ms, 0.95):9.1f}"


def naive_report(session: Any, start: datetime, end: datetime) -> dict[str, Any]:
    """The baseline: every decision of the period through the ORM, counted in Python."""
    decisions = session.scalars(
        select(PolicyDecision).where(
            PolicyDecision.created_at >= start, PolicyDecision.created_at < end
        )
    ).all()
    by_verdict: Counter[str] = Counter()
    by_author: dict[int, Counter[str]] = defaultdict(Counter)
    by_team: dict[int | None, Counter[str]] = defaultdict(Counter)
    by_platform: dict[str, Counter[str]] = defaultdict(Counter)
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    by_guideline: Counter[tuple[str, str]] = Counter()
    for d in decisions:
        by_verdict[d.verdict] += 1
        by_author[d.author_id][d.verdict] += 1
        by_team[d.team_id][d.verdict] += 1
        by_platform[d.platform][d.verdict] += 1
        by_day[d.created_at.date().isoformat()][d.verdict] += 1
    findings = session.scalars(
        select(DecisionFinding).where(
            DecisionFinding.created_at >= start, DecisionFinding.created_at < end
        )
    ).all()
    for f in findings:
        by_guideline[(f.guideline, f.severity)] += 1
    session.expunge_all()
    return {"verdicts": by_verdict, "authors": len(by_author), "days": len(by_day)}


def per_table(app: Any, f: Any, reps: int = 3) -> dict[str, dict[str, float]]:
    """Wall ms of each report table's service call (median of ``reps``, after a warm-up), from
    the rollups and with today's query. Wall, not CPU: on PostgreSQL the work is the server's."""
    out: dict[str, dict[str, float]] = {}
    for name, build in TABLES.items():
        out[name] = {}
        for path in ("rollups", "today"):
            wall = []
            for _ in range(reps + 1):
                with app.extensions["hub.sessionmaker"]() as s:
                    t0 = time.perf_counter()
                    if path == "today":
                        with reports.raw_queries(s):
                            build(s, f)
                    else:
                        build(s, f)
                    wall.append((time.perf_counter() - t0) * 1000.0)
            out[name][path] = round(statistics.median(wall[1:]), 1)
        print(
            f"{f.days:>5} d  table {name:<22} wall ms: rollups {out[name]['rollups']:8.1f}   "
            f"today's query {out[name]['today']:8.1f}",
            flush=True,
        )
    return out


def main() -> None:
    """Seed, time, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--baseline-requests", type=int, default=3)
    parser.add_argument("--naive", action="store_true", help="also time the ORM + Python baseline")
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--db",
        help="keep the seeded data and reuse it on the next run: a SQLite file, or with "
        "--postgresql a database name on the benchmark's server (created when missing)",
    )
    args = parser.parse_args()

    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="hub-bench-reports-") as tmpdir:
        tmp = Path(tmpdir)
        if args.db is not None:
            url, reuse = _kept_database(args.db, args.postgresql)
            if not reuse:
                counts = _prepare(url, args, today)
            else:
                print(f"reports benchmark: reusing {args.db}")
                engine = make_engine(url)
                upgrade(engine)  # an older file gets the rollups from migration 0017
                engine.dispose()
                counts = {}
            run(url, tmp, today, args, counts)
            return
        with scratch_database(args.postgresql, tmp) as url:
            counts = _prepare(url, args, today)
            run(url, tmp, today, args, counts)


def _kept_database(db: str, postgresql: bool) -> tuple[str, bool]:
    """The URL of the database ``--db`` names and whether it already holds a seeded hub."""
    if not postgresql:
        path = Path(db).resolve()
        return f"sqlite:///{path}", path.exists()
    from scratch import PG_ADMIN_URL
    from sqlalchemy import create_engine

    if not db.isidentifier():
        raise SystemExit(f"--db {db!r}: a PostgreSQL database name is letters, digits and _")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": db})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db, bool(exists)


def _prepare(url: str, args: argparse.Namespace, today: date) -> dict[str, int]:
    engine = make_engine(url)
    upgrade(engine)
    print(f"reports benchmark on {engine.dialect.name}: seeding {args.rows:,} decisions")
    counts = seed(engine, args.rows, today, random.Random(args.seed))
    engine.dispose()
    return counts


def run(url: str, tmp: Path, today: date, args: argparse.Namespace, counts: dict[str, int]) -> None:
    """Time every report URL and the baseline for 30 and 365 days."""
    os.environ["HUB_INSTANCE_PATH"] = str(tmp)
    from hub import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SANDBOX_URL": f"sqlite:///{tmp / 'sandbox.db'}",
            "SECRET_KEY": "bench",
            "ENCRYPTION_KEY": "UPAOHjJek0vHHZhQ_uMolDu_2sP75d8Om3cbsZsjy-Q=",
            "WTF_CSRF_ENABLED": False,
        }
    )
    from flask import g, request

    from hub.db import get_session

    @app.before_request
    def _todays_query() -> None:
        """Requests marked as the baseline run the page's raw-decision queries (the block
        stays open while ``g`` holds it: the request's session ends with the request)."""
        if request.headers.get("X-Bench-Baseline"):
            g.bench_baseline = reports.raw_queries(get_session())
            g.bench_baseline.__enter__()

    client = app.test_client()
    resp = client.post("/login", data={"email": "officer@bench.test", "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    urls = ["/reports/"] + [f"/reports/{name}.csv" for name in TABLES]
    print(f"\n{'period':>7}  {'url':<28} {'p50 ms':>9} {'p95 ms':>9} {'cpu p50':>9} {'cpu p95':>9}")
    summary: dict[str, dict[str, Any]] = {}
    for days in (30, 365):
        query = {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}
        page_times: list[float] = []
        page_cpu: list[float] = []
        csv_p95: dict[str, float] = {}
        for u in urls:

            def get(u: str = u, query: dict[str, str] = query) -> None:
                r = client.get(u, query_string=query)
                assert r.status_code == 200, (u, r.status_code, r.text[:300])

            times, cpu = timed(get, args.requests)
            if u == "/reports/":
                page_times, page_cpu = times, cpu
            else:
                csv_p95[u.rsplit("/", 1)[1]] = round(percentile(times, 0.95), 1)
            print(f"{days:>5} d  {u:<28} {_stats(times)} {_stats(cpu)}", flush=True)
        start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
        end = start + timedelta(days=days)

        def baseline(start: datetime = start, end: datetime = end) -> None:
            with app.extensions["hub.sessionmaker"]() as s:
                naive_report(s, start, end)

        tables = per_table(app, reports.ReportFilter(start.date(), today))

        def todays_page(query: dict[str, str] = query) -> None:
            r = client.get("/reports/", query_string=query, headers={"X-Bench-Baseline": "1"})
            assert r.status_code == 200, r.status_code

        base, base_cpu = timed(todays_page, args.baseline_requests)
        print(
            f"{days:>5} d  {BASELINE_LABEL:<28} {_stats(base)} {_stats(base_cpu)}",
            flush=True,
        )
        figures: dict[str, Any] = {
            "page_p50_ms": round(statistics.median(page_times), 1),
            "page_p95_ms": round(percentile(page_times, 0.95), 1),
            "page_cpu_p50_ms": round(statistics.median(page_cpu), 1),
            "page_cpu_p95_ms": round(percentile(page_cpu, 0.95), 1),
            "baseline_p50_ms": round(statistics.median(base), 1),
            "baseline_p95_ms": round(percentile(base, 0.95), 1),
            "ratio_p50": round(statistics.median(base) / statistics.median(page_times), 1),
            "ratio_p95": round(percentile(base, 0.95) / percentile(page_times, 0.95), 1),
            "csv_p95_ms": csv_p95,
            "table_wall_ms": tables,
        }
        if args.naive:
            naive, naive_cpu = timed(baseline, args.baseline_requests)
            print(
                f"{days:>5} d  {'naive (ORM + Python)':<28} {_stats(naive)} {_stats(naive_cpu)}",
                flush=True,
            )
            figures["naive_p50_ms"] = round(statistics.median(naive), 1)
        summary[f"{days}d"] = figures
    print()
    for period, fig in summary.items():
        print(
            f"{period:>4}: report page p50 {fig['page_p50_ms']:.0f} ms, "
            f"p95 {fig['page_p95_ms']:.0f} ms; today's query p50 {fig['baseline_p50_ms']:.0f} ms, "
            f"p95 {fig['baseline_p95_ms']:.0f} ms; ratio today/ours p50 {fig['ratio_p50']:.1f}x, "
            f"p95 {fig['ratio_p95']:.1f}x"
        )
    dialect = app.extensions["hub.engine"].dialect.name
    app.extensions["hub.engine"].dispose()
    _record(dialect, {"rows": args.rows, "requests": args.requests, **counts, **summary})


def _record(dialect: str, figures: dict[str, Any]) -> None:
    """One "reports" entry holding each database's latest run (a run measures one database)."""
    import json

    try:
        entry = json.loads(RESULTS_PATH.read_text()).get("reports", {})
    except (FileNotFoundError, json.JSONDecodeError):
        entry = {}
    kept = {k: v for k, v in entry.items() if k in ("sqlite", "postgresql")}
    record("reports", {**kept, dialect: figures})


if __name__ == "__main__":
    main()
