"""Evaluation of the engine on labelled drafts (policy-eval JSONL format) and on a G3 split."""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.engine import Pack, check, load_pack
from policies.types import AuthorHistory, Context, Decision, Draft

VERDICTS = ("allow", "warn", "review", "block")


@dataclass(frozen=True)
class Labelled:
    """One labelled draft from a policy-eval file."""

    id: str
    draft: Draft
    context: Context
    expected: str
    violations: tuple[str, ...]
    is_product: bool | None
    note: str


def read_jsonl(path: str | Path) -> list[Labelled]:
    """Read drafts in the public.jsonl format."""
    items: list[Labelled] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            h = r.get("author_history")
            history = AuthorHistory(int(h["posts_30d"]), int(h["product_posts_30d"])) if h else None
            items.append(
                Labelled(
                    id=str(r.get("id", len(items))),
                    draft=Draft(
                        text=r["text"],
                        platform=r.get("platform", "x"),
                        kind=r.get("kind", "post"),
                        lang=r.get("lang"),
                        in_reply_to=r.get("in_reply_to"),
                    ),
                    context=Context(history=history),
                    expected=r.get("expected", "allow"),
                    violations=tuple(r.get("violations") or ()),
                    is_product=r.get("is_product"),
                    note=r.get("note", ""),
                )
            )
    return items


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def evaluate(
    items: Iterable[Labelled], pack: Pack | None = None, repeat: int = 3
) -> dict[str, Any]:
    """Run the engine on labelled drafts and return the gate metrics and details."""
    pack = pack or load_pack()
    items = list(items)
    if items:  # first call pays one-off costs (lazy models); keep them out of the timings
        check(items[0].draft, items[0].context, pack)
    decisions: list[Decision] = []
    times: list[float] = []  # per draft: median of `repeat` runs (robust to a busy machine)
    single: list[float] = []  # per draft: the first run alone
    # like timeit, keep the garbage collector out of the measured calls
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for it in items:
            runs = []
            decision = None
            for _ in range(max(1, repeat)):
                t0 = time.perf_counter()
                decision = check(it.draft, it.context, pack)
                runs.append((time.perf_counter() - t0) * 1000.0)
            assert decision is not None
            decisions.append(decision)
            single.append(runs[0])
            times.append(statistics.median(runs))
    finally:
        if gc_was_enabled:
            gc.enable()
    confusion = {e: {p: 0 for p in VERDICTS} for e in VERDICTS}
    for it, d in zip(items, decisions, strict=True):
        confusion[it.expected][d.verdict] += 1
    n = len(items)
    correct = sum(confusion[v][v] for v in VERDICTS)
    tp_block = confusion["block"]["block"]
    pred_block = sum(confusion[e]["block"] for e in VERDICTS)
    flag = ("review", "block")
    tp_flag = sum(confusion[e][p] for e in flag for p in flag)
    pred_flag = sum(confusion[e][p] for e in VERDICTS for p in flag)
    actual_flag = sum(confusion[e][p] for e in flag for p in VERDICTS)
    allow_total = sum(confusion["allow"].values())
    per_guideline: dict[str, dict[str, Any]] = {}
    cited: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct_pred: Counter[str] = Counter()
    for it, d in zip(items, decisions, strict=True):
        got = {f.guideline for f in d.findings}
        for g in it.violations:
            cited[g] += 1
            caught[g] += g in got
        for g in got:
            predicted[g] += 1
            correct_pred[g] += g in it.violations
    for g in sorted(set(cited) | set(predicted), key=lambda x: (len(x), x)):
        per_guideline[g] = {
            "support": cited[g],
            "recall": _ratio(caught[g], cited[g]),
            "precision": _ratio(correct_pred[g], predicted[g]),
        }
    product_items = [
        (it, d) for it, d in zip(items, decisions, strict=True) if it.is_product is not None
    ]
    product_acc = _ratio(
        sum(it.is_product == d.is_product for it, d in product_items), len(product_items)
    )
    errors = [
        {
            "id": it.id,
            "expected": it.expected,
            "got": d.verdict,
            "violations": list(it.violations),
            "found": sorted({f.guideline for f in d.findings}),
            "text": it.draft.text,
        }
        for it, d in zip(items, decisions, strict=True)
        if it.expected != d.verdict
    ]
    return {
        "n": n,
        "accuracy": _ratio(correct, n),
        "block_precision": _ratio(tp_block, pred_block),
        "block_recall": _ratio(tp_block, sum(confusion["block"].values())),
        "flag_precision": _ratio(tp_flag, pred_flag),
        "flag_recall": _ratio(tp_flag, actual_flag),
        "allow_fpr": _ratio(allow_total - confusion["allow"]["allow"], allow_total),
        "is_product_accuracy": product_acc,
        "p50_ms": statistics.median(times) if times else 0.0,
        "p99_ms": _percentile(times, 0.99),
        "mean_ms": statistics.fmean(times) if times else 0.0,
        "p99_ms_single_run": _percentile(single, 0.99),
        "timing": f"per draft, median of {max(1, repeat)} runs, gc paused; one core",
        "confusion": confusion,
        "per_guideline": per_guideline,
        "errors": errors,
        "pack_version": pack.version,
    }


def format_report(m: dict[str, Any]) -> str:
    """A plain-text report of evaluate()'s metrics."""
    lines = [
        f"drafts: {m['n']}   pack: {m['pack_version']}",
        f"verdict accuracy: {m['accuracy']:.3f}",
        f"block  precision {m['block_precision']:.3f}  recall {m['block_recall']:.3f}",
        f"flag (review+block)  precision {m['flag_precision']:.3f}  recall {m['flag_recall']:.3f}",
        f"allow false-positive rate: {m['allow_fpr']:.3f}",
        f"is_product accuracy (posts): {m['is_product_accuracy']:.3f}",
        f"latency per draft: p50 {m['p50_ms']:.3f} ms   p99 {m['p99_ms']:.3f} ms "
        f"({m['timing']}; single-run p99 {m['p99_ms_single_run']:.3f} ms)",
        "",
        "confusion (rows expected, columns predicted):",
        "          " + "".join(f"{v:>8}" for v in VERDICTS),
    ]
    for e in VERDICTS:
        lines.append(f"{e:>8}  " + "".join(f"{m['confusion'][e][p]:>8}" for p in VERDICTS))
    lines += ["", "per guideline:   support  recall  precision"]
    for g, v in m["per_guideline"].items():
        lines.append(f"  {g:<10} {v['support']:>9}  {v['recall']:>6.2f}  {v['precision']:>9.2f}")
    return "\n".join(lines)


def macro_f1(labels: Sequence[int], predictions: Sequence[int]) -> float:
    """Macro-averaged F1 over the two classes 0 and 1."""
    scores = []
    for cls in (0, 1):
        tp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == cls and p == cls)
        fp = sum(1 for y, p in zip(labels, predictions, strict=True) if y != cls and p == cls)
        fn = sum(1 for y, p in zip(labels, predictions, strict=True) if y == cls and p != cls)
        prec = _ratio(tp, tp + fp)
        rec = _ratio(tp, tp + fn)
        scores.append(
            _ratio(int(2 * prec * rec * 1e9), int((prec + rec) * 1e9)) if prec + rec else 0.0
        )
    return sum(scores) / 2


def evaluate_offensive(
    texts: Sequence[str],
    labels: Sequence[int],
    pack: Pack | None = None,
    threshold: float | None = None,
    review_threshold: float | None = None,
) -> dict[str, Any]:
    """Score the G3 ``offensive`` rule alone on a TweetEval-style split.

    A text counts as offensive when the rule fires at any severity (block or review).
    ``threshold`` / ``review_threshold`` override the pack's classifier cuts for this run only.
    """
    from policies.doc import Doc
    from policies.rules.offensive import OffensiveRule

    pack = pack or load_pack()
    rule = next(r for r in pack.rules if isinstance(r, OffensiveRule))
    preds: list[int] = []
    tiers: Counter[str] = Counter()
    for text in texts:
        doc = Doc(Draft(text=text, platform="sandbox", kind="post"), Context(), pack)
        found = rule.lexicon_findings(doc)
        if found:
            tiers["lexicon"] += 1
        else:
            found = rule.model_findings(doc, threshold, review_threshold)
            if found:
                tiers[f"model_{found[0].severity}"] += 1
        preds.append(1 if found else 0)
    tp = sum(1 for y, p in zip(labels, preds, strict=True) if y == 1 and p == 1)
    return {
        "n": len(texts),
        "macro_f1": macro_f1(labels, preds),
        "accuracy": _ratio(
            sum(1 for y, p in zip(labels, preds, strict=True) if y == p), len(texts)
        ),
        "offensive_precision": _ratio(tp, sum(preds)),
        "offensive_recall": _ratio(tp, sum(labels)),
        "fired_by": dict(tiers),
        "classifier": rule.classifier() is not None,
        "threshold": rule.threshold if threshold is None else threshold,
        "review_threshold": rule.review_threshold if review_threshold is None else review_threshold,
    }
