"""Saved replies in the composer: rendered for a mention, and recognised when sent unchanged."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.answers.fill import mention_values
from hub.answers.saved import count_use, get_visible, visible_replies
from hub.answers.templating import render_body
from hub.errors import UserError
from hub.models import Mention, SavedReply, Staff


def insert_saved_reply(session: Session, me: Staff, reply_id: int, mention: Mention) -> str:
    """The saved reply rendered for ``mention`` (its customer, product, order), counted as used."""
    reply = get_visible(session, me, reply_id)
    text = render_body(reply.body, mention_values(session, mention, me, reply.language))
    count_use(session, reply)
    return text


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def unchanged_saved_reply(
    session: Session, me: Staff, mention: Mention, text: str
) -> SavedReply | None:
    """The saved reply ``text`` is, as rendered for this mention and unchanged (spacing and
    case aside), or None. Every reply the person may use is rendered (templates are compiled
    once per body, so this is cheap)."""
    wanted = _normal(text)
    if not wanted:
        return None
    values: dict[str, dict[str, dict[str, str]]] = {}
    for reply in visible_replies(session, me, mention.language):
        if reply.language not in values:
            values[reply.language] = mention_values(session, mention, me, reply.language)
        try:
            rendered = render_body(reply.body, values[reply.language])
        except UserError:
            continue
        if _normal(rendered) == wanted:
            return reply
    return None
