"""What the people pages show: one row per person, with names rather than ids."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth import NO_PASSWORD
from hub.models import Staff, StaffTeam, Team


@dataclass(frozen=True)
class PersonRow:
    """One line of the staff list."""

    staff: Staff
    home_team: str | None
    extra_teams: tuple[str, ...]
    languages: tuple[str, ...]
    #: invited, no password set yet
    invited: bool


def language_name(code: str) -> str:
    """The language's name in the reader's language ("es" -> "Spanish" / "español")."""
    try:
        name = Locale.parse(code).get_display_name(get_locale() or "en")
    except (ValueError, UnknownLocaleError):
        return code
    return f"{name} ({code})" if name else code


def people_rows(session: Session) -> list[PersonRow]:
    """Everyone, active first, by name."""
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    extra: dict[int, list[str]] = defaultdict(list)
    for link in session.scalars(select(StaffTeam)):
        extra[link.staff_id].append(teams.get(link.team_id, "?"))
    people = session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.name)).all()
    return [
        PersonRow(
            staff=s,
            home_team=teams.get(s.team_id) if s.team_id else None,
            extra_teams=tuple(sorted(extra[s.id])),
            languages=tuple(language_name(c) for c in s.languages or ()),
            invited=s.password_hash == NO_PASSWORD,
        )
        for s in people
    ]
