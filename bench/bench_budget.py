"""Benchmark: what the per-check time budget costs. The same pack, the same drafts, run on the
``regex`` engine with a budget (what the hub runs) and on ``re`` without one (the baseline,
built in the same process from the same pack text).

Prints p50/p99 per draft for both and the ratios; the decisions of the two are compared too.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from bench_policy import DEFAULT, measure


class _Re:
    """``re`` behind regex's call signature (``timeout`` accepted and ignored)."""

    def __init__(self, source: str, flags: int) -> None:
        self.rx = re.compile(source, flags)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.rx, name)
        # regex takes endpos=None for "the end"; re wants it left out
        return lambda *args, timeout=None: method(*(a for a in args if a is not None))


def main() -> None:
    """Build both packs, time them interleaved, print the table and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from policies import DEFAULT_PACK, check, load_pack
    from policies import budget as engine
    from policies.evaluate import read_jsonl
    from policies.rules.language import warm_up

    items = read_jsonl(args.file)
    text = Path(DEFAULT_PACK).read_text(encoding="utf-8")
    budgeted = load_pack(text)
    regex_engine = engine.ENGINE
    engine.ENGINE = _Re
    try:
        plain = load_pack(text + "\n# baseline: the same pack compiled on re\n")
    finally:
        engine.ENGINE = regex_engine
    warm_up()
    same = sum(
        check(it.draft, it.context, budgeted).findings
        == check(it.draft, it.context, plain, budget_ms=None).findings
        for it in items
    )
    ours = "regex engine, 500 ms budget"
    base = "re engine, no budget (baseline)"
    results = measure(
        {
            ours: lambda i: check(items[i].draft, items[i].context, budgeted),
            base: lambda i: check(items[i].draft, items[i].context, plain, budget_ms=None),
        },
        len(items),
        args.repeat,
    )
    print(f"{len(items)} drafts x {args.repeat} interleaved rounds; same findings: {same}")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8} {'best p50':>9} {'best p99':>9}")
    for name, r in results.items():
        print(
            f"{name:34} {r['p50']:8.3f} {r['p99']:8.3f} {r['best_p50']:9.3f} {r['best_p99']:9.3f}"
        )
    a, b = results[ours], results[base]
    print(
        f"ratio ours/baseline: p50 {a['p50'] / b['p50']:.2f}, p99 {a['p99'] / b['p99']:.2f}, "
        f"best p50 {a['best_p50'] / b['best_p50']:.2f}, "
        f"best p99 {a['best_p99'] / b['best_p99']:.2f}"
    )
    t0 = time.perf_counter()
    hostile = "a" * 5000
    check(items[0].draft.__class__(text=hostile, platform="x", kind="post"), None, budgeted)
    print(f"one 5,000-character hostile draft: {(time.perf_counter() - t0) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
