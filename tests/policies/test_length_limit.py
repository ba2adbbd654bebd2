"""Length: the draft's own limit comes first, the pack's ``limits`` table only when it has none;
``measure_length`` is the one counter (the rule and the composer's counter both use it)."""

from __future__ import annotations

import pytest

from policies import Draft, LengthCount, LengthLimit, Pack, check, measure_length

X = LengthLimit(280, "x_weighted", "X")
BLUESKY = LengthLimit(300, "graphemes", "Bluesky")
THUMB = "👍🏽"  # one grapheme, two code points, weight 2 on X


@pytest.mark.parametrize(
    ("text", "limit", "length", "approximate"),
    [
        ("猫" * 10, X, 20, False),
        ("see https://example.com/a/very/long/path/indeed", X, 27, False),
        ("a" * 2240, X, 2240, False),  # 8 x the limit is still counted
        ("a" * 2241, X, 2241, True),  # past it, len() stands in
        (THUMB * 10, BLUESKY, 10, False),
        (THUMB * 600, BLUESKY, 500, True),  # counted up to 200 over the limit
        (THUMB * 3, LengthLimit(10, "characters", "Plain"), 6, False),
    ],
)
def test_measure_length_counts_as_the_platform_does(
    text: str, limit: LengthLimit, length: int, approximate: bool
) -> None:
    count = measure_length(text, limit)
    assert count == LengthCount(length, limit.max, limit.name, limit.counter, approximate)
    assert count.over == max(0, length - limit.max)


def _length_messages(pack: Pack, draft: Draft) -> list[str]:
    return [f.message for f in check(draft, pack=pack).findings if f.rule_id == "platform-length"]


@pytest.mark.parametrize(
    ("platform", "limit", "text", "messages"),
    [
        # no limit of its own: the pack's table (x: 280 weighted, bluesky: 300 graphemes)
        (
            "x",
            None,
            "猫" * 141,
            ["This is 282 characters as X counts them; the limit is 280. Cut 2."],
        ),
        ("bluesky", None, "猫" * 141, []),
        ("mastodon", None, "a" * 1000, []),  # not in the table: nothing to check against
        # the draft's limit wins over the table, on platforms the table knows or not
        ("x", BLUESKY, "猫" * 141, []),
        (
            "bluesky",
            X,
            "猫" * 141,
            ["This is 282 characters as X counts them; the limit is 280. Cut 2."],
        ),
        (
            "mastodon",
            LengthLimit(500, "characters", "Mastodon"),
            "a" * 501,
            ["This is 501 characters as Mastodon counts them; the limit is 500. Cut 1."],
        ),
        ("mastodon", LengthLimit(500, "characters", "Mastodon"), "a" * 500, []),
    ],
)
def test_the_drafts_limit_comes_before_the_packs_table(
    pack: Pack, platform: str, limit: LengthLimit | None, text: str, messages: list[str]
) -> None:
    draft = Draft(text=text, platform=platform, kind="post", limit=limit)
    assert _length_messages(pack, draft) == messages


def test_the_rule_reports_what_measure_length_counts(pack: Pack) -> None:
    for text in ("猫" * 150, "a" * 3000, THUMB * 301, "x.y" * 400):
        for limit in (X, BLUESKY):
            count = measure_length(text, limit)
            found = _length_messages(pack, Draft(text=text, platform="x", kind="post", limit=limit))
            expected = (
                [
                    f"This is {count.length} characters as {limit.name} counts them; "
                    f"the limit is {limit.max}. Cut {count.over}."
                ]
                if count.over
                else []
            )
            assert found == expected


def test_x_does_not_count_the_names_that_open_a_reply() -> None:
    """X shows a reply's opening @names above it and counts only the rest; Bluesky counts all."""
    opening = "@" + "a" * 15 + " @bob_b "
    text = opening + "x" * 275  # 298 characters: 275 of them counted as an X reply
    assert [f.rule_id for f in check(Draft(text=text, platform="x", kind="reply")).findings] == []
    post = check(Draft(text=text, platform="x", kind="post"))
    assert [f.rule_id for f in post.findings] == ["platform-length"]
    # a name later in the reply counts, and so does one glued to the text
    assert check(Draft(text="x" * 275 + " " + opening, platform="x", kind="reply")).findings
    assert check(Draft(text="@bob_b" + "x" * 280, platform="x", kind="reply")).findings
    long_bsky = opening + "x" * 290
    assert check(Draft(text=long_bsky, platform="bluesky", kind="reply")).findings
    limit = LengthLimit(280, "x_weighted", "X")
    assert measure_length(text, limit, "reply").length == 275
    assert measure_length(text, limit).length == len(text)
