"""Benchmark: ingest throughput now against an earlier commit of this repository, same run.

Each side ingests the same 5,000 mentions of ../shared/data/mentions/stream.jsonl into an empty
SQLite hub (the hub's own engine: WAL, synchronous=NORMAL), in batches of 100 as a poll delivers
them, with the demo's teams and rules of its own commit. The sides run alternately in fresh
processes, ``--rounds`` times each; the figure is the median of mentions per second of process
CPU time (wall time is printed too, but on a shared machine it measures the neighbours), and the
median of each round's ratio, now against baseline.

    python bench/bench_ingest.py [--baseline 9936431] [--rounds 3]

The default baseline is the commit before triage (issue 12's "today"). One more run of the
current tree splits its time per mention: the SQL alone (every statement ingest sent, replayed
with its parameters on a plain sqlite3 connection into a copy of the database as it was before
the first batch), triage alone (timed around each call), and the rest; SQL and triage alone
are the most a single core could ingest with no other code around them. Figures go to
bench/results.json under "ingest".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from results import record  # noqa: E402

STREAM = ROOT.parent / "shared" / "data" / "mentions" / "stream.jsonl"

# The floor run (an extra argument): what triage and the SQL statements cost on their own.
_FLOOR = r"""
import os, shutil
from sqlalchemy import event


class Floor:
    def __init__(self, engine, tmp, ingest):
        self.log, self.triage, self.tmp = [], 0.0, tmp
        for name in ("hub.db", "hub.db-wal"):  # a committed, quiet moment: both files agree
            if (tmp / name).exists():
                shutil.copy(tmp / name, tmp / ("start-" + name))
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda conn: self.log.append(("COMMIT", None, False)))
        timed = ingest.triage

        def triage(*args, **kwargs):
            t = time.process_time()
            try:
                return timed(*args, **kwargs)
            finally:
                self.triage += time.process_time() - t

        ingest.triage = triage

    def _statement(self, conn, cursor, statement, parameters, context, many):
        # insertmanyvalues sends one multi-row INSERT, its parameters one flat tuple, flagged
        # as an executemany: only a list of rows is one
        self.log.append((statement, parameters, many and isinstance(parameters, list)))

    def result(self, n):
        best = None
        for _ in range(3):
            for name in ("hub.db", "hub.db-wal", "hub.db-shm"):
                if (self.tmp / ("replay-" + name)).exists():
                    os.remove(self.tmp / ("replay-" + name))
                if (self.tmp / ("start-" + name)).exists():
                    shutil.copy(self.tmp / ("start-" + name), self.tmp / ("replay-" + name))
            # the hub's own engine opens it (its pragmas), the statements go to its sqlite3
            engine = make_engine(f"sqlite:///{self.tmp / 'replay-hub.db'}")
            raw = engine.raw_connection()
            con = raw.driver_connection
            cur = con.cursor()
            t = time.process_time()
            for statement, params, many in self.log:
                if statement == "COMMIT":
                    if con.in_transaction:
                        con.execute("COMMIT")
                elif many:
                    cur.executemany(statement, params)
                else:
                    cur.execute(statement, () if params is None else params)
                    cur.fetchall()
            spent = time.process_time() - t
            raw.close()
            engine.dispose()
            best = spent if best is None else min(best, spent)
        return {"sql_ms": best / n * 1e3, "triage_ms": self.triage / n * 1e3}
"""

# Run inside the side's own tree (its hub, its migrations, its demo rules).
_CHILD = (
    _FLOOR
    + r"""
import json, sys, tempfile, time
from datetime import datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sqlalchemy.orm import Session
from connectors.base import Author, Batch, IncomingMention
from hub.db import make_engine
from hub.demo import demo_data, load_teams_and_rules
from hub.engagement import ingest
from hub.migrate import upgrade
from hub.models import PlatformAccount
try:  # as the scheduler process starts (older commits: warm() alone, or nothing)
    from hub.engagement.ingest import prepare_process
    prepare_process()
except ImportError:
    try:
        from hub.engagement.attributes import warm
        warm()
    except ImportError:
        pass
rows = [json.loads(x) for x in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines()][:5000]
batch = [
    IncomingMention(
        platform="sandbox",
        external_id=r["external_id"],
        author=Author(r["author"]["handle"], r["author"]["handle"],
                      r["author"].get("display_name", ""), r["author"]["followers"]),
        text=r["text"],
        created_at=datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")),
        in_reply_to_external_id=r.get("in_reply_to_external_id"),
    )
    for r in rows
]
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{Path(tmp) / 'hub.db'}")
    upgrade(engine)
    with Session(engine) as s:
        load_teams_and_rules(s, demo_data())
        account = PlatformAccount(platform="sandbox", handle="KestrelFootwear", config={})
        s.add(account)
        s.commit()
        floor = len(sys.argv) > 3 and Floor(engine, Path(tmp), ingest)
        wall, cpu, n = time.perf_counter(), time.process_time(), 0
        for i in range(0, len(batch), 100):
            n += ingest.ingest_batch(s, account, Batch(batch[i : i + 100], str(i), None)).inserted
            s.commit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    out = {"n": n, "wall": n / wall, "cpu": n / cpu}
    if floor:
        out |= floor.result(n)
print(json.dumps(out))
"""
)


def _run(root: Path, floor: bool = False) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), str(STREAM), *(["floor"] if floor else [])],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="9936431")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.baseline],
            check=True,
        )
        try:
            runs: dict[str, list[dict[str, float]]] = {"baseline": [], "now": []}
            for _ in range(args.rounds):
                runs["baseline"].append(_run(base))
                runs["now"].append(_run(ROOT))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False
            )
    med = {
        side: {k: statistics.median(r[k] for r in rs) for k in ("cpu", "wall")}
        for side, rs in runs.items()
    }
    print(f"ingest of 5,000 stream mentions, batches of 100, empty SQLite, {args.rounds} rounds")
    for side in ("baseline", "now"):
        label = f"{side} ({args.baseline})" if side == "baseline" else "now"
        print(
            f"  {label:20s} {med[side]['cpu']:7,.0f} mentions/s of CPU time"
            f"  ({med[side]['wall']:,.0f}/s wall)"
        )
    ratio = med["now"]["cpu"] / med["baseline"]["cpu"]
    # each round's two runs are seconds apart: their ratio cancels a slow phase of the
    # machine (seen here: the same code 1.5x slower ten minutes later), the medians do not
    paired = statistics.median(
        n["cpu"] / b["cpu"] for b, n in zip(runs["baseline"], runs["now"], strict=True)
    )
    print(f"  now / baseline: ×{ratio:.2f} (CPU time); median of the rounds' ratios ×{paired:.2f}")
    run = _run(ROOT, floor=True)
    total = 1000 / run["cpu"]
    least = run["sql_ms"] + run["triage_ms"]
    floor = {
        "total_ms": round(total, 4),
        "sql_ms": round(run["sql_ms"], 4),
        "triage_ms": round(run["triage_ms"], 4),
        "rest_ms": round(total - least, 4),
        "sql_and_triage_alone_per_s": round(1000 / least),
    }
    print(
        f"  now, per mention: {total:.3f} ms = SQL alone {run['sql_ms']:.3f} ms (replayed on"
        f" sqlite3) + triage {run['triage_ms']:.3f} ms + the rest {total - least:.3f} ms;"
        f" SQL and triage alone: {1000 / least:,.0f} mentions/s"
    )
    record(
        "ingest",
        {
            "per_mention": floor,
            "mentions": 5000,
            "rounds": args.rounds,
            "baseline_commit": args.baseline,
            "baseline_per_s_cpu": round(med["baseline"]["cpu"]),
            "now_per_s_cpu": round(med["now"]["cpu"]),
            "now_per_s_wall": round(med["now"]["wall"]),
            "ratio_vs_baseline": round(ratio, 3),
            "ratio_vs_baseline_paired": round(paired, 3),
        },
    )


if __name__ == "__main__":
    main()
