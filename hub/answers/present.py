"""View models of the answers pages: the saved replies list and the composer's tools."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.answers.saved import can_manage, visible_replies
from hub.answers.similar import PastAnswer, similar_answers
from hub.models import Mention, SavedReply, Staff, Team


@dataclass(frozen=True)
class ReplyRow:
    reply: SavedReply
    #: the team's name, or None for the person's own
    team: str | None
    manageable: bool


def reply_rows(session: Session, me: Staff) -> list[ReplyRow]:
    """The saved replies ``me`` may use, each with its owner's name and whether ``me`` may
    change it."""
    replies = visible_replies(session, me)
    team_ids = {r.team_id for r in replies if r.team_id is not None}
    names = (
        {t.id: t.name for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))}
        if team_ids
        else {}
    )
    return [
        ReplyRow(r, names.get(r.team_id) if r.team_id else None, can_manage(me, r)) for r in replies
    ]


@dataclass(frozen=True)
class ComposerTools:
    """The composer's saved replies (the mention's language first) and similar past answers."""

    same_language: list[SavedReply]
    other_languages: list[SavedReply]
    past: list[PastAnswer]


def composer_tools(session: Session, me: Staff, mention: Mention) -> ComposerTools:
    """What the composer offers for ``mention``."""
    replies = visible_replies(session, me, mention.language)
    return ComposerTools(
        [r for r in replies if r.language == mention.language],
        [r for r in replies if r.language != mention.language],
        similar_answers(session, mention),
    )
