"""An empty form is never met with silence: every form a person can send empty answers with a
message that says what to fill in (the sign-in form is tested with the sign-in pages)."""

from __future__ import annotations

import html
from typing import Any

import pytest

#: (role, url, what the empty form is told): every POST route a person submits a form to
EMPTY_FORMS = [
    ("manager", "/admin/accounts/", "Choose a platform."),
    ("manager", "/admin/accounts/{account}/credentials", "Fill in at least one credential"),
    ("manager", "/mentions/{mention}/status", "Choose what should happen to the mention"),
    ("manager", "/mentions/{mention}/reply", "The reply is empty."),
    ("manager", "/posts/new", "Pick the account to post from."),
    ("compliance", "/audit/holds", "Say why the records are held"),
    ("compliance", "/audit/retention", "The retention period is a whole number of years."),
    ("compliance", "/policy/revert", "Say why you are returning to the shipped default."),
    ("compliance", "/policy/edit", "Nothing was saved"),
    ("manager", "/sandbox/post", "A handle is 1–30 letters, digits or underscores."),
    ("manager", "/queue/bulk", "Choose what to do with the selected mentions."),
]

#: forms whose empty submission is a complete request, answered by what it did
COMPLETE_WHEN_EMPTY = {
    "/mentions/<bigid:mention_id>/assign",  # nobody: back to the pool
    "/mentions/<bigid:mention_id>/claim",
    "/mentions/<bigid:mention_id>/take-over",  # nobody shown: a plain claim
    "/mentions/<bigid:mention_id>/presence",  # an empty box: no longer writing
    "/review/settings",  # no two-person rules
    "/audit/export",  # everything
    "/audit/verify",
    "/admin/accounts/<id:account_id>/active",
    "/admin/accounts/<id:account_id>/test",
    "/compose/check",  # the live check: nothing typed, nothing to say
    "/posts/check",
}


#: forms on one item, whose empty or short submissions the item's own tests check
ITEM_FORMS = {
    "/review/<id:item_id>/approve": "test_review.py: an override needs a reason",
    "/review/<id:item_id>/reject": "test_review.py: a rejection needs a reason",
    "/review/<id:item_id>/edit": "test_review.py: the edited text is checked again",
    "/posts/<id:item_id>/edit": "test_posts.py: the composer's own messages",
    "/posts/<id:item_id>/withdraw": "test_posts.py: withdraw and its refusals",
    "/policy/versions/<id:version_id>/test": "test_policy_admin.py: running the examples",
    "/policy/versions/<id:version_id>/activate": "test_policy_admin.py: 'Run the examples'",
    "/audit/holds/<id:hold_id>/release": "test_audit.py: 'already released'",
}

#: the blueprints this table speaks for (sign-in and people pages have their own tests)
BLUEPRINTS = {
    "queue",
    "conversation",
    "sandbox",
    "accounts",
    "posts",
    "review",
    "reports",
    "audit",
    "policy_admin",
    "home",
}


def test_the_table_names_every_form(app: Any) -> None:
    posts = {
        r.rule
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and r.endpoint.split(".")[0] in BLUEPRINTS
    }
    listed = {
        url.replace("{mention}", "<bigid:mention_id>").replace("{account}", "<id:account_id>")
        for _role, url, _message in EMPTY_FORMS
    }
    assert posts - listed - COMPLETE_WHEN_EMPTY - set(ITEM_FORMS) == set()
    assert listed | COMPLETE_WHEN_EMPTY | set(ITEM_FORMS) <= posts  # no stale rows


@pytest.mark.parametrize(("role", "url", "message"), EMPTY_FORMS)
def test_an_empty_form_says_what_is_missing(
    app: Any,
    make_staff: Any,
    make_mention: Any,
    login: Any,
    role: str,
    url: str,
    message: str,
) -> None:
    mention = make_mention()
    person = make_staff(role)
    client = app.test_client()
    login(client, person)
    if "{mention}" in url:
        client.post(f"/mentions/{mention.id}/claim")
    target = url.format(mention=mention.id, account=mention.account_id)
    resp = client.post(target, data={}, follow_redirects=True)
    assert resp.status_code < 500
    assert message in html.unescape(resp.text)


def test_the_message_is_in_the_readers_language(app: Any, make_staff: Any, login: Any) -> None:
    client = app.test_client()
    login(client, make_staff("compliance"))
    resp = client.post("/audit/holds", data={}, headers={"Accept-Language": "es"})
    assert "Di por qué se retienen los registros" in html.unescape(resp.text)


def test_a_connector_message_is_in_the_readers_language_too(client: Any) -> None:
    resp = client.post(
        "/sandbox/post",
        data={"handle": "dana_k", "text": "x" * 600},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=True,
    )
    assert "帖子最多 500 个字符。" in resp.text
