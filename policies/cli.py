"""``policy`` command group: check a draft, run the pack's examples, time its regular
expressions on hostile text, evaluate on labelled data.

The lead mounts this group into the ``hub`` command (``hub policy ...``); it also runs alone with
``python -m policies.cli``. Which pack: ``--pack FILE``, else the host's (the hub puts a loader for
its database's active version in the click context under ``"policy_pack"``), else the shipped
default; every command says which on standard error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from policies.backtracking import exponential_witness, measure, pattern_problems
from policies.engine import Pack, check, load_pack
from policies.evaluate import evaluate, evaluate_offensive, format_report, read_jsonl
from policies.examples import run_pack_examples
from policies.types import AuthorHistory, Context, Draft


def _pack_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--pack",
        "pack_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Rule pack YAML (default: policies/packs/culture.yaml).",
    )(f)


#: what a host puts in the click context under "policy_pack": its pack and a description of where
#: it comes from, or None when it has none of its own
PackSource = Callable[[], "tuple[Pack, str] | None"]


def _pack(pack_path: Path | None) -> Pack:
    """The pack a command runs: ``--pack``, else the host's, else the shipped default."""
    if pack_path is not None:
        pack, where = load_pack(pack_path), f"file {pack_path}"
    else:
        ctx = click.get_current_context(silent=True)
        source: PackSource | None = ((ctx.find_object(dict) or {}) if ctx else {}).get(
            "policy_pack"
        )
        found = source() if source is not None else None
        pack, where = found if found is not None else (load_pack(), "the shipped default")
    click.echo(f"pack {pack.version}: {where}", err=True)
    return pack


@click.group("policy")
def policy() -> None:
    """Check drafts against the culture guidelines."""


@policy.command("check")
@click.argument("text")
@click.option("--platform", type=click.Choice(["x", "bluesky", "sandbox"]), default="x")
@click.option("--kind", type=click.Choice(["post", "reply"]), default="post")
@click.option("--in-reply-to", default=None, help="The customer's message, for replies.")
@click.option("--posts-30d", type=int, default=None, help="Author's posts in the last 30 days.")
@click.option("--product-posts-30d", type=int, default=0, help="Product posts among them.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@_pack_option
def check_cmd(
    text: str,
    platform: str,
    kind: str,
    in_reply_to: str | None,
    posts_30d: int | None,
    product_posts_30d: int,
    as_json: bool,
    pack_path: Path | None,
) -> None:
    """Check one draft and print the decision."""
    pack = _pack(pack_path)
    history = AuthorHistory(posts_30d, product_posts_30d) if posts_30d is not None else None
    draft = Draft(text=text, platform=platform, kind=kind, in_reply_to=in_reply_to)
    decision = check(draft, Context(history=history), pack)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"verdict: {decision.verdict}   ({decision.elapsed_ms:.2f} ms, pack {pack.version})")
    if decision.is_product is not None:
        click.echo(f"product post: {'yes' if decision.is_product else 'no'}")
    if decision.mix is not None and decision.mix.share_after is not None:
        m = decision.mix
        click.echo(f"mix after posting: {m.share_after:.0%} product (limit {m.limit:.0%})")
    for f in decision.findings:
        where = f" [{f.span[0]}:{f.span[1]}] {text[f.span[0] : f.span[1]]!r}" if f.span else ""
        click.echo(f"- {f.severity.upper()} {f.guideline} {f.rule_id}{where}\n  {f.message}")
        if f.suggestion:
            click.echo(f"  suggestion: {f.suggestion}")


@policy.command("test")
@_pack_option
def test_cmd(pack_path: Path | None) -> None:
    """Run every rule's examples from the pack; exit 1 if any fails."""
    pack = _pack(pack_path)
    failures = run_pack_examples(pack)
    for f in failures:
        click.echo(f"FAIL {f}")
    total = sum(
        len((r.get("examples") or {}).get(k) or [])
        for r in pack.spec.get("rules") or []
        for k in ("trigger", "pass")
    )
    click.echo(f"{total - len(failures)}/{total} examples pass (pack {pack.version})")
    if failures:
        sys.exit(1)


@policy.command("patterns")
@click.option(
    "--budget-ms",
    type=float,
    default=1000.0,
    show_default=True,
    help="Longest (CPU ms) one regular expression may take on a hostile draft of the pack's "
    "max_chars characters (the hub's HUB_POLICY_PATTERN_BUDGET_MS).",
)
@click.option("--top", type=int, default=10, show_default=True, help="Slowest patterns to list.")
@_pack_option
def patterns_cmd(budget_ms: float, top: int, pack_path: Path | None) -> None:
    """Time every regular expression of the pack on generated hostile drafts; exit 1 if one can
    backtrack exponentially or is slower than the budget."""
    pack = _pack(pack_path)
    patterns = list(pack.patterns)
    safe = [p for p in patterns if exponential_witness(p.source, p.flags) is None]
    timed = measure([(p.source, p.flags) for p in safe], pack.max_chars, budget_ms)
    rows = sorted(
        ((m.worst_ms, p) for p, m in zip(safe, timed, strict=True) if m is not None),
        key=lambda r: -r[0],
    )
    click.echo(
        f"{len(patterns)} regular expressions (pack {pack.version}), hostile drafts of "
        f"{pack.max_chars} characters, budget {budget_ms:g} ms; slowest:"
    )
    for ms, p in rows[:top]:
        shown = p.source if len(p.source) <= 70 else p.source[:69] + "…"
        click.echo(f"  {ms:9.1f} ms  {p.owner}: {shown}")
    problems = pattern_problems(patterns, max_chars=pack.max_chars, budget_ms=budget_ms)
    for problem in problems:
        click.echo(f"REFUSED {problem.pattern.owner}: {problem.message}")
    if problems:
        sys.exit(1)


@policy.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--errors", is_flag=True, help="Also list the drafts the engine got wrong.")
@click.option("--repeat", type=int, default=3, show_default=True, help="Timed runs per draft.")
@click.option(
    "--held-out",
    "held_out",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also report on this labelled file, which no rule or model was tuned on (repeatable).",
)
@click.option(
    "--dev",
    "dev",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also report on this labelled file, which was scored blind once and has been read for "
    "tuning since: its figures are no longer blind (repeatable).",
)
@_pack_option
def eval_cmd(
    file: Path,
    as_json: bool,
    errors: bool,
    repeat: int,
    held_out: tuple[Path, ...],
    dev: tuple[Path, ...],
    pack_path: Path | None,
) -> None:
    """Evaluate the engine on labelled drafts (public.jsonl format)."""
    pack = _pack(pack_path)
    metrics = evaluate(read_jsonl(file), pack, repeat=repeat)
    blind = {p.name: evaluate(read_jsonl(p), pack, repeat=1) for p in held_out}
    seen = {p.name: evaluate(read_jsonl(p), pack, repeat=1) for p in dev}
    if as_json:
        for m in (metrics, *blind.values(), *seen.values()):
            if not errors:
                m.pop("errors")
        if blind:
            metrics["held_out"] = blind
        if seen:
            metrics["development"] = seen
        click.echo(json.dumps(metrics, ensure_ascii=False))
        return
    click.echo(format_report(metrics))
    labelled = [("not tuned on", blind), ("read for tuning since its blind scoring", seen)]
    for label, name, m in ((lab, n, m) for lab, sets in labelled for n, m in sets.items()):
        click.echo(
            f"\n{label}: {name} ({m['n']} drafts): accuracy {m['accuracy']:.3f}, block "
            f"precision {m['block_precision']:.3f} recall {m['block_recall']:.3f}, review+block "
            f"recall {m['flag_recall']:.3f}, allow false positives {m['allow_fpr']:.3f}"
        )
    if errors:
        click.echo("\nerrors:")
        for e in metrics["errors"]:
            click.echo(
                f"  {e['id']} expected {e['expected']} {e['violations']} got {e['got']} "
                f"{e['found']}: {e['text']!r}"
            )


@policy.command("eval-offensive")
@click.argument("texts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("labels", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--threshold", type=float, default=None, help="Override the model's block cut.")
@click.option(
    "--review-threshold", type=float, default=None, help="Override the model's review cut."
)
@_pack_option
def eval_offensive_cmd(
    texts: Path,
    labels: Path,
    as_json: bool,
    threshold: float | None,
    review_threshold: float | None,
    pack_path: Path | None,
) -> None:
    """Score the G3 offensive rule alone on a TweetEval-style split (one tweet per line).

    A tweet counts as flagged when the rule fires at any severity (block or review).
    """
    tweets = texts.read_text(encoding="utf-8").splitlines()
    gold = [int(x) for x in labels.read_text(encoding="utf-8").split()]
    if len(tweets) != len(gold):
        raise click.ClickException(f"{len(tweets)} texts but {len(gold)} labels")
    metrics = evaluate_offensive(tweets, gold, _pack(pack_path), threshold, review_threshold)
    if as_json:
        click.echo(json.dumps(metrics))
        return
    click.echo(
        f"G3 offensive rule on {metrics['n']} texts (classifier: {metrics['classifier']}, "
        f"block at {metrics['threshold']}, review at {metrics['review_threshold']}):\n"
        f"  macro-F1 {metrics['macro_f1']:.3f}   accuracy {metrics['accuracy']:.3f}\n"
        f"  offensive precision {metrics['offensive_precision']:.3f}   "
        f"recall {metrics['offensive_recall']:.3f}\n"
        f"  fired by: {metrics['fired_by']}"
    )


if __name__ == "__main__":
    policy()
