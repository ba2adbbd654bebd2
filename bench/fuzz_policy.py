"""Fuzz: random and hostile strings through policies.check; count exceptions (must be 0).

Strings: random Unicode, zero-width and bidi characters, homoglyphs, leetspeak, spaced letters,
HTML, template syntax, number and URL soup, and huge texts. ``--n`` sets how many (default 1M).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback

PIECES = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u00ad",
    "\u034f",
    "\ufe0f",
    "е",
    "о",
    "а",
    "Η",
    "ο",
    "ρ",
    "ｓ",
    "ﬁ",
    "ß",
    "İ",
    "\u0301",
    "\u0303",
    "ñ",
    "😀",
    "👍🏽",
    "👨‍👩‍👧",
    "🇲🇽",
    "0",
    "1",
    "3",
    "4",
    "5",
    "7",
    "@",
    "$",
    "!",
    "|",
    "*",
    "#",
    " ",
    "  ",
    ".",
    "-",
    "_",
    "/",
    "\\",
    "\n",
    "\t",
    "{{",
    "}}",
    "{%",
    "%}",
    "{0}",
    "{match}",
    "%s",
    "<script>",
    "</b>",
    "&amp;",
    "&#x200b;",
    "]]>",
    "KF-",
    "KF ",
    "kf",
    "20488172",
    "208.555.0193",
    "(208) 555-0147",
    "+52 33 1234 5678",
    "4242 4242 4242 4242",
    "ending in 4242",
    " at gmail dot com",
    "[at]",
    "arroba",
    "https://",
    "http://",
    "www.",
    ".com",
    ".co",
    "kestrelfootwear.com",
    "kestrelfootwear.com.evil.net",
    "bit.ly/x",
    "heron",
    "Project",
    "P r o j e c t",
    "f u c k",
    "sh1t",
    "a$$",
    "苍鹭计划",
    "他妈的",
    "你妹",
    "项目",
    "。",
    "！",
    "Calle Reforma 221",
    "1420 Birch St",
    "北京市朝阳区建国路88号",
    "$48.2M",
    "40%",
    "Nov 26",
    "Black Friday",
    "refund",
    "gift card",
    "cured",
    "plantar fasciitis",
    "vote",
    "lawsuit",
    "password",
    "reply here with your email",
    "PeakPair",
    "trash",
    "Dear valued customer",
    "We apologize for any inconvenience this may have caused.",
    "感谢您的耐心与理解。",
]


def random_text(rng: random.Random) -> str:
    """One random or hostile string."""
    mode = rng.random()
    if mode < 0.3:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
    if mode < 0.55:
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 60)))
    if mode < 0.75:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?@$-_/:#'\"áéíóúñ中文鞋子"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 280)))
    if mode < 0.999:
        return "".join(
            rng.choice(PIECES) if rng.random() < 0.5 else chr(rng.randint(0x20, 0x2FFF))
            for _ in range(rng.randint(0, 120))
        )
    # rare huge texts
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(5_000, 60_000)))


def main() -> None:
    """Run the fuzzer and print the exception count."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from policies import AuthorHistory, Context, Draft, check, load_pack

    pack = load_pack()
    rng = random.Random(args.seed)
    errors = 0
    t0 = time.perf_counter()
    for i in range(args.n):
        text = random_text(rng)
        reply_to = random_text(rng) if rng.random() < 0.5 else None
        draft = Draft(
            text=text,
            platform=rng.choice(["x", "bluesky", "sandbox", "other"]),
            kind=rng.choice(["post", "reply"]),
            in_reply_to=reply_to,
        )
        ctx = Context(history=AuthorHistory(rng.randint(0, 40), rng.randint(0, 40)))
        try:
            decision = check(draft, ctx, pack)
            for f in decision.findings:
                if f.span is not None and not 0 <= f.span[0] <= f.span[1] <= len(text):
                    raise AssertionError(f"span {f.span} outside text of {len(text)}")
        except Exception:  # noqa: BLE001 - counting every failure is the point
            errors += 1
            if errors <= 5:
                print(f"#{i}: {text[:200]!r}", file=sys.stderr)
                traceback.print_exc()
        if (i + 1) % 100_000 == 0:
            rate = (i + 1) / (time.perf_counter() - t0)
            print(f"{i + 1} strings, {errors} exceptions, {rate:.0f}/s", flush=True)
    elapsed = time.perf_counter() - t0
    print(f"{args.n} strings in {elapsed:.1f}s, {errors} exceptions")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
