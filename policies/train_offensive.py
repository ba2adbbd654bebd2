"""Train the offensive-language classifier shipped in ``policies/models/offensive.json.gz``.

    .venv/bin/python -m policies.train_offensive            # CV on train, fit, export, report val
    .venv/bin/python -m policies.train_offensive --grid full # the wider search (slower)

Training-only dependencies: scikit-learn (and its numpy/scipy). They are imported inside
:func:`main`, so importing this module costs nothing at runtime; the shipped model is read by
``policies/offensive.py`` with the standard library only.

Data: TweetEval "offensive" (SemEval-2019 OffensEval / OLID), ``train_*`` and ``val_*`` in
``$TWEETEVAL_DIR/offensive`` (default ``/work/shared/data/tweeteval``). The test split is held out.

Method (everything chosen by stratified 5-fold cross-validation on *train* only):

1. features from :func:`policies.offensive.analyze` (the runtime's own tokeniser): word 1-2-grams
   and char_wb 2-5-grams of the normalised text; sublinear tf * smooth idf; one L2 norm over the
   whole vector; n-grams seen in fewer than ``min_df`` training tweets are dropped;
2. NB-LR: each feature is scaled by ``|r|**beta``, r being the naive-Bayes log-count ratio of the
   feature's presence in offensive vs. other tweets (Wang & Manning 2012, interpolated);
3. L2-regularised logistic regression (liblinear);
4. decision threshold = the macro-F1 optimum of the out-of-fold probabilities (smoothed over a
   +-0.02 window so a lucky spike isn't chosen).

The final model is fit on train only (validation stays unseen and is reported once, from the
exported file through the runtime code), then exported: per-feature document frequency and one
folded weight (NB scale * LR coefficient), the intercept, the threshold and provenance.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from policies.offensive import (
    DEFAULT_MODEL_PATH,
    FORMAT,
    PREPROCESS_VERSION,
    OffensiveClassifier,
    analyze,
)

DATA_DIR = Path(os.environ.get("TWEETEVAL_DIR", "/work/shared/data/tweeteval")) / "offensive"
WORD_PREFIX, CHAR_PREFIX = "w:", "c:"
SEED = 0
FOLDS = 5

# Hyperparameter grids. "small" is the neighbourhood of the optimum the "full" search found.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "small": {
        "C": [1.0, 2.0, 4.0],
        "beta": [0.5, 0.75],
        "min_df": [2],
        "char_ngrams": [(2, 5)],
        "word_ngrams": [(1, 2)],
    },
    "full": {
        "C": [0.5, 1.0, 2.0, 4.0, 8.0],
        "beta": [0.0, 0.25, 0.5, 0.75, 1.0],
        "min_df": [1, 2, 3],
        "char_ngrams": [(2, 4), (2, 5), (3, 5)],
        "word_ngrams": [(1, 2), (1, 3)],
    },
}


def read_split(split: str, data_dir: Path = DATA_DIR) -> tuple[list[str], list[int]]:
    """Texts and 0/1 labels of a TweetEval split (one per line)."""
    labels = [int(v) for v in (data_dir / f"{split}_labels.txt").read_text().split()]
    texts = (data_dir / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")[: len(labels)]
    if len(texts) != len(labels):
        raise SystemExit(f"{split}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def macro_f1(y: list[int] | Any, pred: list[bool] | Any) -> float:
    """Macro-averaged F1 over the two classes (the TweetEval metric)."""
    tp = fp = fn = tn = 0
    for t, p in zip(y, pred, strict=True):
        if p:
            tp += t == 1
            fp += t == 0
        else:
            fn += t == 1
            tn += t == 0
    f_pos = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    f_neg = 2 * tn / (2 * tn + fn + fp) if tn else 0.0
    return (f_pos + f_neg) / 2


def prefixed_features(text: str, word_ngrams: tuple[int, int], char_ngrams: tuple[int, int]):
    words, chars = analyze(text, word_ngrams, char_ngrams)
    return [WORD_PREFIX + g for g in words] + [CHAR_PREFIX + g for g in chars]


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import normalize as l2_normalize

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", choices=sorted(GRIDS), default="small")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--no-readme", action="store_true", help="don't rewrite models/README.md")
    args = ap.parse_args(argv)
    t_start = time.time()

    X, y_list = read_split("train", args.data)
    y = np.array(y_list)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(X, y))
    grid = GRIDS[args.grid]
    thresholds = np.round(np.arange(0.05, 0.95 + 1e-9, 0.005), 3)

    def counts(word_ngrams, char_ngrams):
        cv = CountVectorizer(
            analyzer=lambda t: prefixed_features(t, word_ngrams, char_ngrams), dtype=np.float64
        )
        M = cv.fit_transform(X).tocsc()
        return M, cv.get_feature_names_out()

    def tfidf(M, rows, min_df):
        """sklearn TfidfVectorizer(sublinear_tf, smooth idf, l2) with vocab/idf from ``rows``."""
        df = np.asarray((M[rows] > 0).sum(0)).ravel()
        keep = np.flatnonzero(df >= min_df)
        A = M[:, keep].tocsr(copy=True)
        A.data = 1.0 + np.log(A.data)
        idf = np.log((1 + len(rows)) / (1 + df[keep])) + 1.0
        return l2_normalize(A @ sp.diags(idf)), keep, df[keep]

    def nb_scale(A, yy, beta):
        if beta == 0:
            return np.ones(A.shape[1])
        B = (A > 0).astype(np.float64)
        p = 1.0 + np.asarray(B[yy == 1].sum(0)).ravel()
        q = 1.0 + np.asarray(B[yy == 0].sum(0)).ravel()
        return np.abs(np.log((p / p.sum()) / (q / q.sum()))) ** beta

    def fit(A, yy, C):
        m = LogisticRegression(C=C, solver="liblinear", max_iter=5000, random_state=SEED)
        return m.fit(A, yy)

    def best_threshold(prob):
        f = np.array([macro_f1(y, prob >= t) for t in thresholds])
        smooth = np.convolve(f, np.ones(9) / 9, mode="same")  # +-0.02
        i = int(np.argmax(smooth))
        return float(thresholds[i]), float(f[i])

    # ---- cross-validated search ---------------------------------------------------------------
    results = []
    for wn in grid["word_ngrams"]:
        for cn in grid["char_ngrams"]:
            M, _ = counts(wn, cn)
            for min_df in grid["min_df"]:
                per_fold = []
                for tr, te in folds:
                    A, _, _ = tfidf(M, tr, min_df)
                    per_fold.append((A, tr, te))
                for beta in grid["beta"]:
                    scaled = []
                    for A, tr, te in per_fold:
                        s = sp.diags(nb_scale(A[tr], y[tr], beta))
                        scaled.append((A[tr] @ s, A[te] @ s, tr, te))
                    for C in grid["C"]:
                        oof = np.zeros(len(y))
                        for Atr, Ate, tr, te in scaled:
                            oof[te] = fit(Atr, y[tr], C).predict_proba(Ate)[:, 1]
                        thr, f_thr = best_threshold(oof)
                        row = {
                            "word_ngrams": list(wn),
                            "char_ngrams": list(cn),
                            "min_df": min_df,
                            "beta": beta,
                            "C": C,
                            "cv_macro_f1_at_0.5": round(macro_f1(y, oof >= 0.5), 4),
                            "cv_macro_f1": round(f_thr, 4),
                            "threshold": thr,
                        }
                        results.append(row)
                        print(json.dumps(row), flush=True)
    best = max(results, key=lambda r: (r["cv_macro_f1"], -r["C"]))
    print("best:", json.dumps(best), flush=True)

    # ---- final fit on all of train ---------------------------------------------------------
    wn, cn = tuple(best["word_ngrams"]), tuple(best["char_ngrams"])
    M, names = counts(wn, cn)
    rows = np.arange(len(y))
    A, keep, df = tfidf(M, rows, best["min_df"])
    scale = nb_scale(A, y, best["beta"])
    model = fit(A @ sp.diags(scale), y, best["C"])
    weights = model.coef_.ravel() * scale
    names = names[keep]

    def block(prefix: str) -> dict[str, list[Any]]:
        idx = [i for i, n in enumerate(names) if n.startswith(prefix)]
        return {
            "features": [names[i][len(prefix) :] for i in idx],
            "df": [int(df[i]) for i in idx],
            "coef": [float(f"{weights[i]:.5g}") for i in idx],
        }

    cv_best = {k: best[k] for k in ("cv_macro_f1", "cv_macro_f1_at_0.5")}
    meta = {
        "trained": _dt.date.today().isoformat(),
        "data": "TweetEval offensive (OffensEval-2019/OLID), train split only "
        f"({len(y)} tweets, {int(y.sum())} offensive)",
        "hyperparameters": {
            k: best[k] for k in ("word_ngrams", "char_ngrams", "min_df", "beta", "C")
        },
        "cv": f"stratified {FOLDS}-fold on train, seed {SEED}, grid {args.grid!r} "
        f"({len(results)} configurations)",
        **cv_best,
    }
    data = {
        "format": FORMAT,
        "preprocess": PREPROCESS_VERSION,
        "word_ngrams": list(wn),
        "char_ngrams": list(cn),
        "n_docs": len(y),
        "intercept": float(model.intercept_[0]),
        "threshold": best["threshold"],
        "meta": meta,
        "word": block(WORD_PREFIX),
        "char": block(CHAR_PREFIX),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh,
    ):
        fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    # ---- check the export through the runtime code, then score validation once ----------------
    clf = OffensiveClassifier(json.loads(gzip.decompress(tmp.read_bytes())))
    sk = model.predict_proba(A[:200] @ sp.diags(scale))[:, 1]
    rt = np.array([clf.score(t) for t in X[:200]])
    if np.max(np.abs(sk - rt)) > 1e-3:
        raise SystemExit(f"runtime disagrees with sklearn: max |diff| {np.max(np.abs(sk - rt))}")
    os.replace(tmp, args.out)
    Xv, yv = read_split("val", args.data)
    val_f1 = macro_f1(yv, [clf.score(t) >= clf.threshold for t in Xv])
    val_f1_05 = macro_f1(yv, [clf.score(t) >= 0.5 for t in Xv])
    meta["val_macro_f1"] = round(val_f1, 4)
    meta["val_macro_f1_at_0.5"] = round(val_f1_05, 4)
    data["meta"] = meta
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh,
    ):
        fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    os.replace(tmp, args.out)
    size = args.out.stat().st_size
    print(
        f"wrote {args.out} ({size / 1e6:.2f} MB, {len(names)} features); "
        f"threshold {clf.threshold}; CV macro-F1 {best['cv_macro_f1']}; "
        f"val macro-F1 {val_f1:.4f} (at 0.5: {val_f1_05:.4f}); {time.time() - t_start:.0f}s",
        flush=True,
    )
    if not args.no_readme:
        write_readme(args.out.parent / "README.md", data, results, size)
    return 0


def write_readme(
    path: Path, data: dict[str, Any], results: list[dict[str, Any]], size: int
) -> None:
    """Record provenance next to the weights."""
    m = data["meta"]
    h = m["hyperparameters"]
    top = sorted(results, key=lambda r: -r["cv_macro_f1"])[:8]
    lines = [
        "# Shipped models",
        "",
        "## `offensive.json.gz` — offensive-language classifier",
        "",
        "Read by `policies/offensive.py` (`OffensiveClassifier.load()`), built by",
        "`.venv/bin/python -m policies.train_offensive` (scikit-learn at training time only).",
        "Gzip'd JSON, no pickles: for each feature its n-gram, its document frequency in train (the",
        "idf is recomputed as `ln((1+n)/(1+df))+1`) and one weight (NB scale × LR coefficient),",
        "plus the intercept and the decision threshold.",
        "",
        f"- **Trained**: {m['trained']}",
        f"- **Data**: {m['data']}. Validation (1,324 tweets) was *not* used for training or for",
        "  choosing anything; it is scored once at the end. The test split is held out.",
        f"- **Features**: normalised text (see `normalize()`), word {h['word_ngrams'][0]}–"
        f"{h['word_ngrams'][1]}-grams + char_wb {h['char_ngrams'][0]}–{h['char_ngrams'][1]}-grams, "
        f"min_df={h['min_df']}, sublinear tf × smooth idf, L2 norm "
        f"({len(data['word']['features']) + len(data['char']['features'])} features).",
        f"- **Model**: NB-LR — features scaled by |NB log-count ratio|^{h['beta']}, logistic",
        f"  regression (liblinear, L2, C={h['C']}).",
        f"- **Threshold**: {data['threshold']} on the probability (macro-F1 optimum of the",
        "  out-of-fold predictions, smoothed over ±0.02).",
        f"- **CV** ({m['cv']}): macro-F1 **{m['cv_macro_f1']}** at the threshold (chosen on",
        f"  the same out-of-fold predictions, so slightly optimistic), {m['cv_macro_f1_at_0.5']} "
        "at 0.5.",
        f"- **Validation** (train-only model, its threshold): macro-F1 **{m['val_macro_f1']}** "
        f"({m['val_macro_f1_at_0.5']} at 0.5).",
        f"- **Size**: {size / 1e6:.2f} MB.",
        "",
        "Reference (TweetEval paper, test macro-F1): FastText 73.4, RoBERTa-Twitter 77.1; on",
        "this machine TF-IDF + LR on train scored 75.1 on test.",
        "",
        "Best cross-validated configurations of the last search:",
        "",
        "| word | char | min_df | beta | C | CV macro-F1 | threshold |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in top:
        lines.append(
            f"| {tuple(r['word_ngrams'])} | {tuple(r['char_ngrams'])} | {r['min_df']} | "
            f"{r['beta']} | {r['C']} | {r['cv_macro_f1']} | {r['threshold']} |"
        )
    lines += ["", EXTRA_NOTES.strip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


EXTRA_NOTES = """
### What was tried (5-fold CV on train, macro-F1 at the OOF-optimal threshold)

- TF-IDF word 1–2 + char_wb 2–5, plain logistic regression: 0.731–0.732 (C 1–8); linear SVM
  0.734; `class_weight="balanced"` 0.731 (same as threshold tuning); binary tf 0.731;
  separate L2 norms for the word and char blocks 0.735; min_df 1/2/3 within ±0.002.
- Preprocessing variants (keeping vs. splitting hashtags, an ALL-CAPS marker, no elongation
  folding, no NFKC, char 1–5/2–4/2–6/3–5, word 1–1/1–3): all within ±0.003 — noise level.
- NB scaling of the features (NB-LR) is the one clear gain: +1.2–1.5 points (0.74–0.746).
- Any mix of linear models over the same features collapses into one weight vector, so an
  LR+SVM logit average would ship at the same cost; it did not beat NB-LR alone.

### Runtime

Scoring is a pure-Python re-implementation of the exported sklearn pipeline (see the module
docstring of `policies/offensive.py`): tens of microseconds per tweet, stdlib only.
"""


if __name__ == "__main__":
    sys.exit(main())
