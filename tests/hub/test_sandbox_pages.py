"""The sandbox's customer pages: anyone may post, but nobody as the brand."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox import SandboxStore

BRAND_MESSAGE = "reads like the brand&#39;s own account"

#: (handle, display name, refused): the brand is KestrelFootwear (SANDBOX_BRAND)
ATTEMPTS = [
    ("KestrelFootwear", "", True),
    ("kestrelfootwear", "", True),
    ("@KESTRELFOOTWEAR", "", True),
    ("ＫｅｓｔｒｅｌＦｏｏｔｗｅａｒ", "", True),  # full-width letters (NFKC)
    ("Kestrel\u200bFootwear", "", True),  # a zero-width space
    ("Kestrel_Footwear", "", True),
    ("KestreIFootwear", "", True),  # a capital I for the l
    ("KestrelF00twear", "", True),  # zeros for the o's
    ("dana", "Kestrel Footwear", True),
    ("dana", "Kеstrеl Footwear", True),  # Cyrillic е
    ("dana", "𝐊𝐞𝐬𝐭𝐫𝐞𝐥 𝐅𝐨𝐨𝐭𝐰𝐞𝐚𝐫", True),  # mathematical bold (NFKC)
    ("dana", "Késtrel Footwear", True),  # an accent
    ("dana", "KESTREL\u00adFOOTWEAR", True),  # a soft hyphen
    ("dana", "Dana K.", False),
    ("KestrelFan", "Kestrel fan club", False),
    ("kestrel_footwear_fan", "", False),
]


def _posts(app: Any) -> list[Any]:
    return SandboxStore(app.config["SANDBOX_URL"]).recent_roots()


@pytest.mark.parametrize(("handle", "display_name", "refused"), ATTEMPTS)
def test_nobody_posts_as_the_brand(app, client, handle, display_name, refused):
    resp = client.post(
        "/sandbox/post",
        data={"handle": handle, "display_name": display_name, "text": "Official: 90% off!"},
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).text
    if refused:
        assert BRAND_MESSAGE in page
        assert _posts(app) == []
    else:
        assert BRAND_MESSAGE not in page
        [post] = _posts(app)
        assert post["text"] == "Official: 90% off!"


def test_the_hubs_other_sandbox_accounts_are_reserved_too(app, client):
    from hub.db import job_session
    from hub.platforms.accounts import create_account

    with job_session(app) as s:
        create_account(s, app, "sandbox", "alice_runs", {"handle": "alice_runs"})
    resp = client.post("/sandbox/post", data={"handle": "Alice_Runs", "text": "hello"})
    assert BRAND_MESSAGE in client.get(resp.headers["Location"]).text
    assert _posts(app) == []


def test_the_brand_is_the_configured_one(app, client):
    app.config["SANDBOX_BRAND"] = "AcmeShoes"
    resp = client.post("/sandbox/post", data={"handle": "acmeshoes", "text": "hello"})
    assert BRAND_MESSAGE in client.get(resp.headers["Location"]).text
    client.post("/sandbox/post", data={"handle": "kestrelfootwear", "text": "hello"})
    assert [p["author"] for p in _posts(app)] == ["kestrelfootwear"]


def test_a_display_name_cannot_reorder_itself(app, client):
    """A right-to-left override shows "\u202eraewtooFlertseK" as "KestrelFootwear"."""
    resp = client.post(
        "/sandbox/post",
        data={"handle": "dana", "display_name": "\u202eraewtooFlertseK", "text": "hello"},
    )
    assert "text-direction controls" in client.get(resp.headers["Location"]).text
    assert _posts(app) == []


def test_the_brand_itself_still_publishes(app, sandbox_account):
    """The store refuses reserved names only where the customer pages ask it to."""
    row = SandboxStore(app.config["SANDBOX_URL"]).create_post("KestrelFootwear", "Hi from us")
    assert row["author"] == "KestrelFootwear"
