"""``hub route eval``: ingest's attribute and routing path, measured on labelled mentions.

Each row of a file in the format of ../shared/data/mentions/public.jsonl goes through
``attributes.triage`` (what ingest runs) with the demo company's routing rules, in file order, so
a customer's earlier rows are their history, as at ingest. Nothing is written anywhere.

The rows of public.jsonl whose author hashes into the held-out 30% (``heldout``) were never used
to train the triage model or to write the rules' word lists; the figures for that part come
first in the output.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from hub.demo import demo_rule
from hub.engagement.attributes import History, triage, warm
from hub.engagement.routing import compile_rules


def heldout(row: dict[str, Any]) -> bool:
    """Whether a labelled row is in the part kept out of training: 30% of authors, by a hash of
    the handle (a customer's whole story stays on one side)."""
    digest = hashlib.sha256(row["author"]["handle"].encode("utf-8")).hexdigest()
    return int(digest, 16) % 10 < 3


def demo_rules(data: dict[str, Any]) -> tuple[list[Any], dict[int, str]]:
    """The demo's rules compiled, and team id → slug (ids are the teams' order in the file)."""
    ids = {t["slug"]: i for i, t in enumerate(data["teams"], start=1)}
    rules = []
    for pos, r in enumerate(data["rules"], start=1):
        rule = demo_rule(r, ids[r["team"]], pos)
        rule.id = pos
        rules.append(rule)
    return compile_rules(rules), {i: s for s, i in ids.items()}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of each attribute, p1 recall and precision, and the team confusion."""
    n = len(results)
    if not n:
        return {"n": 0}

    def share(key: str) -> float:
        return round(sum(r[key] == r["want_" + key] for r in results) / n, 3)

    p1 = [r for r in results if r["want_priority"] == "p1"]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        confusion[r["want_team"]][r["team"] or "none"] += 1
    return {
        "n": n,
        "team_accuracy": share("team"),
        "priority_accuracy": share("priority"),
        "p1_recall": round(sum(r["priority"] == "p1" for r in p1) / len(p1), 3) if p1 else None,
        "p1_precision": _precision(results),
        "language_accuracy": share("lang"),
        "intent_accuracy": share("intent"),
        "sentiment_accuracy": share("sentiment"),
        "product_accuracy": share("product"),
        "pii_accuracy": share("pii"),
        "confusion": {want: dict(sorted(got.items())) for want, got in sorted(confusion.items())},
    }


def _precision(results: list[dict[str, Any]]) -> float | None:
    said = [r for r in results if r["priority"] == "p1"]
    return round(sum(r["want_priority"] == "p1" for r in said) / len(said), 3) if said else None


def route_rows(
    rows: Iterable[dict[str, Any]], rules: list[Any], slugs: dict[int, str]
) -> list[dict[str, Any]]:
    """Each labelled row routed as ingest would (its author's earlier rows as history): what
    triage said beside what the label wants (``want_*``), with the row, its attributes and the
    milliseconds triage took."""
    histories: dict[tuple[str, str], History] = {}
    results = []
    for row in rows:
        author = row["author"]
        history = histories.setdefault((row["platform"], author["handle"]), History())
        start = time.perf_counter()
        attrs, r = triage(
            rules,
            row["text"],
            platform=row["platform"],
            account_id=None,
            followers=author.get("followers"),
            history=history,
        )
        ms = (time.perf_counter() - start) * 1000
        history.add(attrs)
        results.append(
            {
                "id": row.get("id"),
                "heldout": heldout(row),
                "team": slugs.get(r.team_id) if r.team_id else None,
                "want_team": row.get("team"),
                "priority": r.priority,
                "want_priority": row.get("priority"),
                "lang": attrs["language"],
                "want_lang": row.get("lang"),
                "intent": attrs["intent"],
                "want_intent": row.get("intent"),
                "sentiment": attrs["sentiment"],
                "want_sentiment": row.get("sentiment"),
                "product": attrs["product"],
                "want_product": row.get("mentions_product"),
                "pii": bool(attrs["pii"]),
                "want_pii": row.get("contains_pii"),
                "rule": r.rule_name,
                "row": row,
                "attrs": attrs,
                "ms": ms,
            }
        )
    return results


def evaluate(rows: Iterable[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """The figures for ``rows`` (labelled mentions) under the demo rules in ``data``."""
    rules, slugs = demo_rules(data)
    warm()
    results = route_rows(rows, rules, slugs)
    times = [r["ms"] for r in results]
    out = figures(results)
    held = [r for r in results if r["heldout"]]
    out["p50_ms"] = round(_pct(times, 0.5), 3)
    out["p99_ms"] = round(_pct(times, 0.99), 3)
    out["held_out"] = figures(held) if held else None
    out["development"] = figures([r for r in results if not r["heldout"]]) if held else None
    out["misses"] = [
        {k: r[k] for k in ("id", "want_team", "team", "want_priority", "priority", "rule")}
        for r in results
        if (r["team"], r["priority"]) != (r["want_team"], r["want_priority"])
    ]
    return out


def read_rows(path: str) -> list[dict[str, Any]]:
    """A JSON-lines file of labelled mentions; a malformed line is an error naming the line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row.get("text"), str) or not isinstance(row.get("author"), dict):
                    raise ValueError("needs text and author")
            except ValueError as exc:
                raise ValueError(f"line {n}: {exc}") from exc
            rows.append(row)
    return rows
