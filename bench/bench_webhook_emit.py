"""What webhooks cost ingest when no endpoint is active: ``emit_many`` for a batch of 100 new
mentions (one small query, no payload built) against ingesting that batch, same run.

Ingests 2,000 mentions of ../shared/data/mentions/stream.jsonl in batches of 100 into an empty
SQLite hub with the demo's teams and rules (as bench/bench_ingest.py does), timing each batch in
process CPU time, then times ``emit_many`` alone on the same database 2,000 times.

    python bench/bench_webhook_emit.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import record  # noqa: E402
from scratch import as_mentions, stream_rows  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from connectors.base import Batch  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.demo import demo_data, load_teams_and_rules  # noqa: E402
from hub.engagement import ingest  # noqa: E402
from hub.engagement.attributes import warm  # noqa: E402
from hub.migrate import upgrade  # noqa: E402
from hub.models import PlatformAccount  # noqa: E402
from hub.webhooks.events import emit_many  # noqa: E402


def main() -> None:
    warm()
    batch = as_mentions(stream_rows(2000))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'hub.db'}")
        upgrade(engine)
        with Session(engine) as s:
            load_teams_and_rules(s, demo_data())
            account = PlatformAccount(platform="sandbox", handle="KestrelFootwear", config={})
            s.add(account)
            s.commit()
            batches = []
            for i in range(0, len(batch), 100):
                t = time.process_time()
                ingest.ingest_batch(s, account, Batch(batch[i : i + 100], str(i), None))
                s.commit()
                batches.append(time.process_time() - t)
            emits = []
            for _ in range(2000):
                t = time.perf_counter()
                emit_many(s, "mention.created", ({"n": n} for n in range(100)))
                emits.append(time.perf_counter() - t)
            s.rollback()
        engine.dispose()
    per_batch = statistics.median(batches)
    per_emit = statistics.median(emits)
    print("webhooks with no endpoint active, SQLite, batches of 100 stream mentions")
    print(f"  ingest of one batch        {per_batch * 1000:8.2f} ms CPU (median)")
    print(f"  emit_many for that batch   {per_emit * 1000:8.3f} ms (median)")
    print(f"  emit / ingest: {per_emit / per_batch:.4f} ({per_emit / per_batch:.2%} of a batch)")
    record(
        "bench_webhook_emit",
        {
            "ingest_batch_ms": round(per_batch * 1000, 2),
            "emit_ms": round(per_emit * 1000, 4),
            "emit_over_ingest": round(per_emit / per_batch, 5),
        },
    )


if __name__ == "__main__":
    main()
