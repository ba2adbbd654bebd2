"""Cross-validated routing: what ``hub route eval`` says of mentions the model never read.

    python bench/cv_route.py [--folds 5] [--by-file] [--misses] [--cache FILE]   (make cv-route)

The shipped triage model trained on the development part of public.jsonl, so ``hub route eval``'s
development figures are fit, not measured. Here the development part and the writers' mentions are
split into folds by author (a customer's story stays in one fold); for each fold the model is
refitted on everything else (each class with the C the shipped model chose, and its trigger cuts,
which the training script chose by its own cross-validation) and the fold is routed through
``attributes.triage`` with the demo rules, in file order, as at ingest. The held-out part of
public.jsonl is never read. ``--misses`` lists the development mentions routed to the wrong team
or priority with the attributes that decided it: the diagnosis rules and training data are tuned
from. ``--cache`` keeps the fold models (a pickle this script wrote) so that a rule change is
measured in seconds.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_culture import fit, vectorize, weight_table  # noqa: E402
from train_triage import dataset, targets  # noqa: E402

from hub.demo import demo_data  # noqa: E402
from hub.engagement import attributes  # noqa: E402
from hub.engagement.route_eval import demo_rules, figures, route_rows  # noqa: E402
from policies.learned import FORMAT, CultureModel, features  # noqa: E402


def fold_of(row: dict[str, Any], folds: int) -> int:
    """The author's fold (a hash of the handle, independent of the held-out split's)."""
    digest = hashlib.sha256(("cv:" + row["author"]["handle"]).encode("utf-8")).hexdigest()
    return int(digest, 16) % folds


def refit(
    rows: list[dict[str, Any]],
    docs: list[list[str]],
    shipped: dict[str, Any],
) -> CultureModel:
    """The shipped model's classes refitted on ``rows`` (each with its C and trigger cut)."""
    vocab, idf, x = vectorize(docs)
    cv = shipped["meta"]["cross_validation"]
    known = set(shipped["classes"])
    classes, bias, weights = [], [], []
    for cls, _head, mask, y in targets(rows):
        if cls not in known:
            continue
        idx = np.flatnonzero(mask)
        model = fit(x[idx], y[idx], cv[cls]["C"])
        classes.append(cls)
        bias.append(float(model.intercept_[0]))
        weights.append(model.coef_[0])
    return CultureModel(
        {
            "format": FORMAT,
            "classes": classes,
            "bias": bias,
            "features": weight_table(vocab, idf, weights),
            "thresholds": shipped["thresholds"],
        }
    )


def cv_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """``hub route eval``'s figures, and which priorities were mistaken for which."""
    conf = Counter((r["want_priority"], r["priority"]) for r in results)
    return figures(results) | {
        "priority_confusion(want>got)": {
            f"{w}>{g}": c for (w, g), c in sorted(conf.items()) if w != g
        }
    }


def main() -> None:
    """Refit per fold, route each fold, print the out-of-fold figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument(
        "--model",
        type=Path,
        default=attributes.MODEL_PATH,
        help="the trained model whose C and trigger cuts each fold reuses",
    )
    parser.add_argument("--by-file", action="store_true", help="figures per training file too")
    parser.add_argument("--cache", type=Path, help="keep the fold models here between runs")
    args = parser.parse_args()
    with gzip.open(args.model, "rt", encoding="utf-8") as fh:
        shipped = json.load(fh)
    rows = dataset()
    for r in rows:
        r["file"] = r["source"]
        r["source"] = "writers" if r["source"].startswith("mentions-train") else "development"
    docs = [list(features(attributes.model_view(r["text"]))) for r in rows]
    rules, slugs = demo_rules(demo_data())
    results: list[dict[str, Any]] = []
    models = {}
    if args.cache and args.cache.exists():
        models = pickle.loads(args.cache.read_bytes())
    for k in range(args.folds):
        train = [i for i, r in enumerate(rows) if fold_of(r["row"], args.folds) != k]
        test = [i for i, r in enumerate(rows) if fold_of(r["row"], args.folds) == k]
        if k not in models:
            models[k] = refit([rows[i] for i in train], [docs[i] for i in train], shipped)
        m = models[k]
        attributes.model = lambda m=m: m  # type: ignore[assignment,misc]
        results.extend(
            route_rows(
                [
                    rows[i]["row"] | {"source": rows[i]["source"], "file": rows[i]["file"]}
                    for i in test
                ],
                rules,
                slugs,
            )
        )
    if args.cache:
        args.cache.write_bytes(pickle.dumps(models))
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_source[r["row"]["source"]].append(r)
    out = {src: cv_figures(rs) for src, rs in sorted(by_source.items())}
    if args.by_file:
        by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in results:
            by_file[r["row"]["file"]].append(r)
        out |= {
            name: cv_figures(rs)
            for name, rs in sorted(by_file.items())
            if name != "public (development part)"
        }
    print(json.dumps(out, indent=1))
    if args.misses:
        for r in by_source["development"]:
            row, a = r["row"], r["attrs"]
            if (r["team"], r["priority"]) == (row["team"], row["priority"]):
                continue
            print(
                f"{row['id']} want {row['team']}/{row['priority']} got {r['team']}/{r['priority']}"
                f" [{r['rule']}] int={a['intent']} sent={a['sentiment']} stage={a['stage']}"
                f" sev={a['severity']} trig={a['triggers']} said={a['said']} fol={a['followers']}"
                f" hist={a['history']['earlier']}/{a['history']['unanswered_complaints']}\n    "
                f"{row['text'][:200]!r}\n    note: {row['note'][:200]}"
            )


if __name__ == "__main__":
    main()
