"""Evaluation: similar past answers (hub.answers.similar), ranking quality and lookup time.

There are no gold replies, so the proxy is: a past answer is useful when the mention it answered
asked for the same thing. Every labelled mention of ../shared/data/mentions/public.jsonl is stored
as answered; for each one in turn, the top 3 other mentions retrieved (same language, as the hub
asks) are judged by the labels:

- P@3 intent+team: share of the 3 neighbours with the query's intent AND team;
- P@3 product: over queries labelled with a product, share of neighbours about that product.

Missing neighbours (fewer than 3 found) count as misses. Baselines in the same run and on the same
database: random (3 other same-language mentions, mean of 20 draws) and LIKE-overlap (neighbours
ranked by how many query words their text contains, ``LIKE '%word%'``); on SQLite also FTS5 with
the trigram tokenizer for every language, the alternative to the hub's choice.

Speed: the public mentions plus the 4,850 unique stream mentions, all answered; the median and
p95 of ``similar_answers`` for 300 stream mentions.

    python bench/eval_similar_answers.py [--database-url postgresql+psycopg://.../empty_db]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from hub.answers.similar import rank_mentions, search_terms, similar_answers
from hub.engagement.language import detect_language
from hub.migrate import upgrade
from hub.models import Mention, OutboundItem, PlatformAccount, Staff

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mentions"
K = 3

Ranker = Callable[[Session, dict, list[dict]], list[int]]


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def fill(session: Session, rows: list[dict], start: datetime) -> dict[str, int]:
    """Store each row as a mention with a sent reply; external id -> mention id."""
    staff = Staff(email="bench@example.test", name="Bench", password_hash="", role="employee")
    account = PlatformAccount(platform="sandbox", handle="KestrelFootwear")
    session.add_all([staff, account])
    session.flush()
    ids: dict[str, int] = {}
    for n, row in enumerate(rows):
        key = row.get("id") or row["external_id"]
        if key in ids:
            continue  # the stream's re-deliveries
        lang = row.get("lang") or detect_language(row["text"])
        at = start + timedelta(minutes=n)
        mention_id = session.execute(
            insert(Mention).values(
                platform=row["platform"],
                external_id=key,
                author_handle=row["author"]["handle"],
                text=row["text"],
                created_at=at,
                received_at=at,
                language=lang,
                attributes={"product": row.get("mentions_product")},
                reply_ref={},
                tags=[],
                routing_why={},
                problems=[],
                raw={},
            )
        ).inserted_primary_key[0]
        session.execute(
            insert(OutboundItem).values(
                kind="reply",
                account_id=account.id,
                author_id=staff.id,
                mention_id=mention_id,
                text=f"reply to {key}",
                state="sent",
                idempotency_key=f"bench-{key}",
                created_at=at,
                updated_at=at,
                sent_at=at,
                attempts=1,
                required_approvals=1,
            )
        )
        ids[key] = mention_id
    session.flush()
    return ids


def hub_ranker(session: Session, query: dict, _pool: list[dict]) -> list[int]:
    return [
        i
        for i, _ in rank_mentions(
            session, query["text"], exclude_id=query["_id"], language=query["lang"], limit=K
        )
    ]


def random_ranker(seed: int) -> Ranker:
    rng = random.Random(seed)

    def rank(_session: Session, query: dict, pool: list[dict]) -> list[int]:
        others = [r["_id"] for r in pool if r["lang"] == query["lang"] and r is not query]
        return rng.sample(others, min(K, len(others)))

    return rank


def like_ranker(session: Session, query: dict, _pool: list[dict]) -> list[int]:
    """Rank by the number of query words (Chinese: character pairs) the text contains."""
    terms = search_terms(query["text"])
    words = [w for w in terms.words if len(w) >= 3]
    words += [run[i : i + 2] for run in terms.cjk for i in range(len(run) - 1)]
    words = list(dict.fromkeys(words))[:40]
    if not words:
        return []
    hits = " + ".join(
        f"(CASE WHEN lower(text) LIKE :w{i} THEN 1 ELSE 0 END)" for i in range(len(words))
    )
    params = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    rows = session.execute(
        text(
            f"SELECT id, {hits} AS hits FROM mentions WHERE id != :self AND language = :lang "
            "ORDER BY hits DESC, id DESC LIMIT :k"
        ),
        params | {"self": query["_id"], "lang": query["lang"], "k": K},
    )
    return [r.id for r in rows if r.hits > 0]


def trigram_ranker(session: Session, query: dict, _pool: list[dict]) -> list[int]:
    """FTS5 with trigram for every language: words of 3+ letters as substrings, Chinese runs cut
    into 3-character windows."""
    terms = search_terms(query["text"])
    tokens = [w for w in terms.words if len(w) >= 3]
    tokens += [run[i : i + 3] for run in terms.cjk for i in range(len(run) - 2)]
    tokens = list(dict.fromkeys(tokens))
    if not tokens:
        return []
    rows = session.execute(
        text(
            "SELECT s.rowid AS id FROM bench_trigram AS s JOIN mentions AS m ON m.id = s.rowid "
            "WHERE bench_trigram MATCH :q AND s.rowid != :self AND m.language = :lang "
            "ORDER BY bm25(bench_trigram) LIMIT :k"
        ),
        {
            "q": " OR ".join(f'"{t}"' for t in tokens),
            "self": query["_id"],
            "lang": query["lang"],
            "k": K,
        },
    )
    return [r.id for r in rows]


def evaluate(session: Session, pool: list[dict], rank: Ranker) -> dict[str, float]:
    by_id = {r["_id"]: r for r in pool}
    hits: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for query in pool:
        found = [by_id[i] for i in rank(session, query, pool)[:K] if i in by_id]
        same = sum(1 for r in found if (r["intent"], r["team"]) == (query["intent"], query["team"]))
        for scope in ("all", query["lang"]):
            hits[f"it:{scope}"] += same
            counts[f"it:{scope}"] += K
        if query["mentions_product"]:
            hits["product"] += sum(
                1 for r in found if r["mentions_product"] == query["mentions_product"]
            )
            counts["product"] += K
    return {key: hits[key] / counts[key] for key in counts}


def main() -> None:
    """Print precision@3 for the hub's ranking and the baselines, then the lookup time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="an EMPTY database to use (default: temp SQLite)")
    args = parser.parse_args()
    public = load(DATA / "public.jsonl")
    stream = load(DATA / "stream.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'hub.db'}"
        engine = create_engine(url)
        upgrade(engine)
        dialect = engine.dialect.name
        with Session(engine) as session:
            ids = fill(session, public, datetime(2025, 5, 1, tzinfo=UTC))
            session.commit()
            pool = [r | {"_id": ids[r["id"]]} for r in public]
            rankers: dict[str, Ranker] = {
                f"hub ({dialect})": hub_ranker,
                "LIKE-overlap": like_ranker,
            }
            if dialect == "sqlite":
                session.execute(
                    text(
                        "CREATE VIRTUAL TABLE bench_trigram USING fts5(text, content='mentions', "
                        "content_rowid='id', tokenize='trigram')"
                    )
                )
                session.execute(text("INSERT INTO bench_trigram(bench_trigram) VALUES ('rebuild')"))
                rankers["FTS5 trigram"] = trigram_ranker
            results = {name: evaluate(session, pool, rank) for name, rank in rankers.items()}
            draws = [evaluate(session, pool, random_ranker(seed)) for seed in range(20)]
            results["random"] = {k: statistics.mean(d[k] for d in draws) for k in draws[0]}
            print(
                f"Similar past answers on {len(pool)} labelled mentions ({dialect}), precision@{K}"
            )
            print(f"{'method':<20}{'intent+team':>12}{'en':>8}{'es':>8}{'zh':>8}{'product':>9}")
            for name, r in results.items():
                print(
                    f"{name:<20}{r['it:all']:>12.3f}{r['it:en']:>8.3f}{r['it:es']:>8.3f}"
                    f"{r['it:zh']:>8.3f}{r['product']:>9.3f}"
                )
            base = max(results["LIKE-overlap"]["it:all"], results["random"]["it:all"])
            ours = results[f"hub ({dialect})"]["it:all"]
            print(f"ratio hub / best baseline (intent+team): {ours / base:.2f}")

            more = fill_more(session, stream)
            session.commit()
            # planner statistics, as autovacuum (PostgreSQL) or a long-running hub would have
            session.execute(text("ANALYZE"))
            session.commit()
            sample = random.Random(1).sample(more, min(300, len(more)))
            mentions = session.scalars(select(Mention).where(Mention.id.in_(sample))).all()
            times = []
            for m in mentions:
                t0 = time.perf_counter()
                similar_answers(session, m)
                times.append((time.perf_counter() - t0) * 1000)
            answered = session.scalar(text("SELECT count(*) FROM outbound_items"))
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"lookup over {answered:,} answered mentions: median "
                f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(times)} lookups)"
            )
        engine.dispose()


def fill_more(session: Session, stream: list[dict]) -> list[int]:
    """Add the stream's mentions (answered too); their mention ids."""
    # the bench's one staff member and account are reused: fill() made them
    staff_id = session.scalar(select(Staff.id))
    account_id = session.scalar(select(PlatformAccount.id))
    seen: set[str] = set()
    out: list[int] = []
    start = datetime(2025, 6, 2, tzinfo=UTC)
    for n, row in enumerate(stream):
        if row["external_id"] in seen:
            continue
        seen.add(row["external_id"])
        at = start + timedelta(seconds=n)
        mention_id = session.execute(
            insert(Mention).values(
                platform=row["platform"],
                external_id=row["external_id"],
                author_handle=row["author"]["handle"],
                text=row["text"],
                created_at=at,
                received_at=at,
                language=detect_language(row["text"]),
                attributes={},
                reply_ref={},
                tags=[],
                routing_why={},
                problems=[],
                raw={},
            )
        ).inserted_primary_key[0]
        session.execute(
            insert(OutboundItem).values(
                kind="reply",
                account_id=account_id,
                author_id=staff_id,
                mention_id=mention_id,
                text=f"reply to {row['external_id']}",
                state="sent",
                idempotency_key=f"bench-s-{mention_id}",
                created_at=at,
                updated_at=at,
                sent_at=at,
                attempts=1,
                required_approvals=1,
            )
        )
        out.append(mention_id)
    return out


if __name__ == "__main__":
    main()
