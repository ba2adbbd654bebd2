"""One customer across platforms: suggestion scores, certain links, merging and unlinking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hub.customers.linking import (
    SUGGEST_AT,
    handle_key,
    link_certain,
    merge_customers,
    score_pair,
    suggest_links,
    unlink_identity,
)
from hub.errors import UserError
from hub.models import AuditEvent, Customer, CustomerIdentity, CustomerNote, Mention


@pytest.mark.parametrize(
    ("a", "b", "key_equal"),
    [
        ("@Dana_Kruger", "dana-kruger.bsky.social", True),
        ("danakruger.bsky.social", "dana_kruger", True),
        ("dana_kruger", "dana_kruger2", False),
    ],
)
def test_handle_keys(a: str, b: str, key_equal: bool) -> None:
    assert (handle_key(a) == handle_key(b)) is key_equal


@pytest.mark.parametrize(
    ("a", "b", "suggested", "evidence"),
    [
        # same person, two platforms
        (
            ("dana_kruger", "Dana Krüger"),
            ("dana-kruger.bsky.social", "Dana Kruger"),
            True,
            ["handle", "name"],
        ),
        (("lupita_gzz", "Lupita González"), ("lupitagzz.bsky.social", "Lupita"), True, ["handle"]),
        (("tess_outdoors", "Tess"), ("tess.outdoors", ""), True, ["handle"]),
        # a similar handle and the same name
        (("marcus_runs", "Marcus Bell"), ("marcusruns88", "Marcus Bell"), True, ["handle", "name"]),
        # a same name alone is not enough: many people share one
        (("jsmith", "John Smith"), ("runner_77", "John Smith"), False, ["name"]),
        # different people
        (("olivia_k", "Olivia Kim"), ("ben_teaches", "Ben Adler"), False, []),
        (("sam_ortiz", "Sam"), ("sam_ortega", "Sam"), False, ["handle", "name"]),
    ],
)
def test_suggestion_scoring(
    a: tuple[str, str], b: tuple[str, str], suggested: bool, evidence: list[str]
) -> None:
    score, found = score_pair(a[0], a[1], b[0], b[1])
    assert (score >= SUGGEST_AT) is suggested, score
    assert [e.kind for e in found] == evidence
    assert score_pair(b[0], b[1], a[0], a[1])[0] == score  # symmetric


def test_the_handle_evidence_names_both_handles_and_the_similarity() -> None:
    _, evidence = score_pair("dana_kruger", "Dana", "dana-kruger.bsky.social", "Dana")
    assert (evidence[0].a, evidence[0].b, evidence[0].percent) == (
        "dana_kruger",
        "dana-kruger.bsky.social",
        100,
    )


def _customer(
    session: Any, name: str, *identities: tuple[str, str], texts: list[str] = ()
) -> Customer:  # type: ignore[assignment]
    c = Customer(display_name=name, tags=[])
    session.add(c)
    for platform, handle in identities:
        session.add(
            CustomerIdentity(
                customer=c,
                platform=platform,
                platform_user_id=f"{platform}:{handle}",
                handle=handle,
            )
        )
    session.flush()
    for i, text in enumerate(texts):
        platform, handle = identities[min(i, len(identities) - 1)]
        session.add(
            Mention(
                platform=platform,
                external_id=f"{handle}-{i}-{text[:8]}",
                customer_id=c.id,
                author_handle=handle,
                author_name=name,
                text=text,
                created_at=datetime.now(UTC),
            )
        )
    session.flush()
    return c


def test_suggestions_list_likely_customers_with_evidence(app: Any, session: Any) -> None:
    dana = _customer(session, "Dana Krüger", ("x", "dana_kruger"))
    twin = _customer(session, "Dana Kruger", ("bluesky", "dana-kruger.bsky.social"))
    _customer(session, "Olivia Kim", ("bluesky", "olivia_k"))
    found = suggest_links(session, dana)
    assert [(s.customer.id, [e.kind for e in s.evidence]) for s in found] == [
        (twin.id, ["handle", "name"])
    ]


def test_merging_moves_identities_mentions_notes_tags_and_is_audited(
    app: Any, session: Any
) -> None:
    keep = _customer(session, "Dana", ("x", "dana_kruger"), texts=["hi"])
    other = _customer(session, "", ("bluesky", "danakruger.bsky.social"), texts=["hello"])
    other.tags, other.vip = ["loyal"], True
    session.add(CustomerNote(customer_id=other.id, text="prefers DMs"))
    session.flush()
    other_id = other.id
    merge_customers(session, keep, other, None, why="same order")
    session.commit()
    assert session.get(Customer, other_id) is None
    assert sorted(i.platform for i in keep.identities) == ["bluesky", "x"]
    assert session.scalars(select(Mention.customer_id)).all() == [keep.id, keep.id]
    assert session.scalar(select(CustomerNote.customer_id)) == keep.id
    assert (keep.tags, keep.vip) == (["loyal"], True)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.merged")).one()
    assert (event.subject_id, event.data["merged"], event.data["mentions"]) == (
        keep.id,
        other_id,
        1,
    )


def test_a_customer_cannot_be_merged_into_themselves(app: Any, session: Any) -> None:
    c = _customer(session, "Dana", ("x", "dana"))
    with pytest.raises(UserError):
        merge_customers(session, c, c, None)


def test_certain_links_are_the_same_order_number_or_email(app: Any, session: Any) -> None:
    dana = _customer(session, "Dana", ("x", "dana_kruger"), texts=["order KF-20481736 lost"])
    same = _customer(session, "D", ("bluesky", "dk.bsky.social"), texts=["about KF-20481736?"])
    mail = _customer(session, "D2", ("sandbox", "dk2"), texts=["me: DANA@example.com"])
    _customer(session, "Dana", ("sandbox", "dana_kruger2"), texts=["KF-20481737 is mine"])
    session.add(
        Mention(
            platform="x",
            external_id="m2",
            customer_id=dana.id,
            author_handle="dana_kruger",
            text="mail dana@example.com",
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    assert sorted(link_certain(session)) == sorted([(dana.id, same.id), (dana.id, mail.id)])
    assert link_certain(session) == []  # the keys are stored: a second run finds nothing new
    assert sorted(i.handle for i in dana.identities) == ["dana_kruger", "dk.bsky.social", "dk2"]


def test_unlinking_gives_the_identity_and_its_mentions_their_own_customer(
    app: Any, session: Any
) -> None:
    c = _customer(
        session,
        "Dana",
        ("x", "dana_kruger"),
        ("bluesky", "someone.bsky.social"),
        texts=["on x", "on bluesky"],
    )
    bsky = next(i for i in c.identities if i.platform == "bluesky")
    new = unlink_identity(session, bsky, None)
    session.commit()
    assert [i.handle for i in new.identities] == ["someone.bsky.social"]
    assert [
        m.text for m in session.scalars(select(Mention).where(Mention.customer_id == new.id))
    ] == ["on bluesky"]
    assert [i.platform for i in session.get(Customer, c.id).identities] == ["x"]
    assert (
        session.scalar(select(AuditEvent.action).where(AuditEvent.subject_id == c.id))
        == "customer.unlinked"
    )


def test_the_only_identity_cannot_be_unlinked(app: Any, session: Any) -> None:
    c = _customer(session, "Dana", ("x", "dana_kruger"))
    with pytest.raises(UserError):
        unlink_identity(session, c.identities[0], None)
