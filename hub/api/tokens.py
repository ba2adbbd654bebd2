"""API tokens: made and revoked by their owner (admins revoke anyone's), checked per request.

A token is ``hub_<prefix>_<secret>``: 32 random bytes of secret (``secrets.token_urlsafe``).
Only the SHA-256 digest of the whole token is stored. A fast hash is enough here, unlike for
passwords: a 256-bit random secret cannot be guessed or brute-forced from its digest, so the
slow, salted hash a human-chosen password needs (argon2) would only cost every API request
time. The lookup is by digest (a unique index), so nothing compares secrets character by
character.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from hub.audit import record_event
from hub.errors import Forbidden, NotFound, UserError
from hub.i18n import _
from hub.models import API_SCOPES, ApiToken, Staff, utcnow

#: what every token starts with, so a leaked one is recognisable (secret scanners, logs)
TOKEN_MARK = "hub_"
MAX_NAME = 80
#: a person's live tokens at once
MAX_TOKENS = 20
#: ``last_used_at`` is written at most this often per token (a write per request would
#: serialise every API read on SQLite)
LAST_USED_GRANULARITY = timedelta(minutes=1)


def digest(token: str) -> str:
    """SHA-256 of the whole token, hex (see the module docstring for why not argon2)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token as the form asks for it."""

    name: str
    scope: str


def create_token(session: Session, owner: Staff, form: NewToken) -> tuple[ApiToken, str]:
    """A new token for ``owner``; returns the row and the token itself, which is shown once and
    never stored."""
    name = " ".join("".join(ch for ch in form.name if ch.isprintable()).split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Give the token a name, e.g. what will use it.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("Token names are at most %(max)s characters.", max=MAX_NAME)
    if form.scope not in API_SCOPES:
        errors["scope"] = _("Choose what the token may do: read, or read and write.")
    if errors:
        raise UserError(" ".join(errors.values()), errors=errors)
    live = session.scalars(
        select(ApiToken.id).where(ApiToken.staff_id == owner.id, ApiToken.revoked_at.is_(None))
    ).all()
    if len(live) >= MAX_TOKENS:
        raise UserError(
            _("You have %(max)s tokens; revoke one you no longer use first.", max=MAX_TOKENS)
        )
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(
        staff_id=owner.id,
        name=name,
        prefix=f"{TOKEN_MARK}{prefix}",
        digest=digest(token),
        scope=form.scope,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "api_token.created",
        "api_token",
        row.id,
        owner.id,
        owner=owner.id,
        name=name,
        scope=form.scope,
        prefix=row.prefix,
    )
    return row, token


def visible_tokens(session: Session, viewer: Staff) -> list[ApiToken]:
    """The viewer's own tokens; an admin sees everyone's. Newest first, revoked ones last."""
    q = select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    if viewer.role != "admin":
        q = q.where(ApiToken.staff_id == viewer.id)
    return list(session.scalars(q.options(selectinload(ApiToken.owner)).limit(500)))


def revoke_token(session: Session, token_id: int, actor: Staff) -> ApiToken:
    """Revoke a token at once: its owner may, and an admin may revoke anyone's."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(_("There is no such token."))
    if row.staff_id != actor.id and actor.role != "admin":
        raise Forbidden(_("Only the token's owner or an admin can revoke it."))
    if row.revoked_at is not None:
        return row
    row.revoked_at = utcnow()
    row.revoked_by = actor.id
    session.flush()
    record_event(
        session,
        "api_token.revoked",
        "api_token",
        row.id,
        actor.id,
        owner=row.staff_id,
        prefix=row.prefix,
    )
    return row


def token_owner(session: Session, token: str) -> tuple[ApiToken, Staff] | None:
    """The live token and its active owner for what a request sent, or None.

    Checked on every request, so a revoked token or a deactivated owner stops working at once.
    """
    if not token.startswith(TOKEN_MARK) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken, Staff)
        .join(Staff, Staff.id == ApiToken.staff_id)
        .where(ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None or not row[1].active:
        return None
    return row[0], row[1]


def needs_touch(token: ApiToken, now: datetime) -> bool:
    """Whether ``last_used_at`` is stale enough to write again."""
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    """Record that the token was used (a guarded UPDATE: concurrent requests write once)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            (ApiToken.last_used_at.is_(None))
            | (ApiToken.last_used_at < now - LAST_USED_GRANULARITY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
