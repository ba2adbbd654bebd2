"""Benchmark: triage (attributes + routing) per mention, and ingest throughput with it.

1. Per mention, on one core, the 5,000 texts of ../shared/data/mentions/stream.jsonl: the hub's
   ``attributes.triage`` with the demo rules (language, model, triggers, product, personal data,
   history, rules) against the routing it replaced (lingua language plus one keyword automaton per
   rule), p50 and p99 of each and the ratio.
2. Ingest into an empty SQLite hub, batches of 100 as a poll delivers them: mentions/s with
   triage against mentions/s with the replaced routing (the same ingest with ``triage`` swapped
   for it), and the ratio.

    python bench/bench_triage.py [--rows 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ahocorasick
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import STREAM, as_mentions, stream_rows  # noqa: E402

from connectors.base import Batch  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.demo import demo_data, load_teams_and_rules  # noqa: E402
from hub.engagement import ingest  # noqa: E402
from hub.engagement.attributes import History, triage, warm  # noqa: E402
from hub.engagement.language import detect_language  # noqa: E402
from hub.engagement.route_eval import demo_rules  # noqa: E402
from hub.engagement.routing import Route  # noqa: E402
from hub.migrate import upgrade  # noqa: E402
from hub.models import PlatformAccount  # noqa: E402

# The demo's keyword rules before triage (commit 9936431's demo_data.json, abridged to the
# same number of words per rule): what "today's routing" did per mention.
OLD_RULES = [
    (
        [
            "scam*",
            "phishing",
            "fake account",
            "impersonat*",
            "kestre1",
            "crypto",
            "link in bio",
            "replica*",
            "estafa*",
            "cuenta falsa",
            "诈骗",
            "骗子",
            "假冒",
        ],
        None,
    ),
    ([], "es"),
    ([], "zh"),
    (
        [
            "lawyer",
            "attorney",
            "sue",
            "chargeback",
            "bbb",
            "injur*",
            "burn*",
            "tiktok",
            "journalist",
            "viral",
            "third time",
            "supervisor",
            "hung up",
            "cancelling",
        ],
        "en",
    ),
    (
        [
            "order",
            "kf-",
            "tracking",
            "package",
            "delivered",
            "refund*",
            "return*",
            "exchange*",
            "cancel",
            "damaged",
            "defect*",
            "missing",
            "charged",
            "gift card",
            "account",
        ],
        "en",
    ),
    (
        [
            "size",
            "sizing",
            "fit",
            "wide",
            "restock*",
            "in stock",
            "price",
            "discount",
            "promo*",
            "checkout",
            "ship to",
            "material*",
            "recommend*",
        ],
        "en",
    ),
    ([], None),
]


def _old_rules() -> list[tuple[ahocorasick.Automaton | None, str | None]]:
    out = []
    for words, lang in OLD_RULES:
        automaton = None
        if words:
            automaton = ahocorasick.Automaton()
            for w in words:
                automaton.add_word(w.rstrip("*"), w)
            automaton.make_automaton()
        out.append((automaton, lang))
    return out


def old_triage(rules: Any, text: str, **_: Any) -> tuple[dict[str, Any], Route]:
    """The routing triage replaced: language, then the first rule with a keyword present."""
    language = detect_language(text)
    folded = text.casefold()
    for i, (automaton, lang) in enumerate(_OLD):
        if lang is not None and lang != language:
            continue
        if automaton is None or next(automaton.iter(folded), None) is not None:
            return {"language": language}, Route(i + 1, "p2", 120, None, f"rule {i}")
    return {"language": language}, Route(None, "p3", 120, None, "no rule matched")


_OLD = _old_rules()


def per_mention(rows: list[dict[str, Any]]) -> None:
    rules, _slugs = demo_rules(demo_data())
    warm()
    old_triage(None, "warm")
    histories: dict[str, History] = {}
    times: dict[str, list[float]] = {"keyword routing (before)": [], "triage (hub)": []}
    for row in rows:
        text, handle = row["text"], row["author"]["handle"]
        t0 = time.perf_counter()
        old_triage(None, text)
        t1 = time.perf_counter()
        history = histories.setdefault(handle, History())
        attrs, _r = triage(
            rules,
            text,
            platform=row["platform"],
            account_id=1,
            followers=row["author"].get("followers"),
            history=history,
        )
        history.add(attrs)
        t2 = time.perf_counter()
        times["keyword routing (before)"].append((t1 - t0) * 1000)
        times["triage (hub)"].append((t2 - t1) * 1000)
    base = times["keyword routing (before)"]
    for name, ts in times.items():
        q = statistics.quantiles(ts, n=100)
        print(
            f"{name:26s} p50 {statistics.median(ts):.3f} ms  p99 {q[98]:.3f} ms"
            f"  (p50 ×{statistics.median(ts) / statistics.median(base):.2f},"
            f" p99 ×{q[98] / statistics.quantiles(base, n=100)[98]:.2f} of before)"
        )


def ingest_rate(rows: list[dict[str, Any]], swap: bool) -> float:
    """Mentions per second into an empty SQLite hub with the demo's rules."""
    mentions = as_mentions(rows)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'hub.db'}")
        upgrade(engine)
        with Session(engine) as session:
            load_teams_and_rules(session, demo_data())
            account = PlatformAccount(platform="sandbox", handle="KestrelFootwear", config={})
            session.add(account)
            session.commit()
            saved = ingest.triage
            if swap:
                ingest.triage = old_triage  # type: ignore[assignment]
            try:
                t0 = time.perf_counter()
                stored = 0
                for i in range(0, len(mentions), 100):
                    result = ingest.ingest_batch(
                        session, account, Batch(mentions[i : i + 100], str(i), None)
                    )
                    session.commit()
                    stored += result.inserted
                elapsed = time.perf_counter() - t0
            finally:
                ingest.triage = saved
        engine.dispose()
    return stored / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    rows = stream_rows(args.rows)
    print(f"{len(rows)} mentions of {STREAM.name}")
    per_mention(rows)
    before = ingest_rate(rows, swap=True)
    after = ingest_rate(rows, swap=False)
    print(
        f"ingest into an empty SQLite hub: {after:,.0f} mentions/s with triage, "
        f"{before:,.0f}/s with keyword routing (×{after / before:.2f})"
    )


if __name__ == "__main__":
    main()
