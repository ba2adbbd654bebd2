"""The people pages' forms: field checks only; the services decide the rest."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from hub.auth import MAX_PASSWORD_LENGTH
from hub.errors import UserError
from hub.i18n import LANGUAGES, lazy_gettext
from hub.models import ROLE_LABELS, ROLES, Team
from hub.people.present import language_name
from hub.people.staff import MAX_OPEN_CAP

_REQUIRED = lazy_gettext("Fill this in.")


def _team_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "", "None") else None


def _password_field(label: Any, *, required: bool = True) -> PasswordField:
    checks: list[Any] = [DataRequired(_REQUIRED)] if required else [Optional()]
    return PasswordField(label, validators=[*checks, Length(max=MAX_PASSWORD_LENGTH)])


class _PersonFields(FlaskForm):
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(_REQUIRED), Length(max=120)])
    role = SelectField(
        lazy_gettext("Role"),
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
        default="employee",
    )
    team = SelectField(lazy_gettext("Home team"), coerce=_team_or_none, validate_choice=True)
    languages = SelectMultipleField(
        lazy_gettext("Languages they answer in"),
        validators=[DataRequired(lazy_gettext("Choose at least one language."))],
    )

    def offer(self, teams: list[Team], languages: list[str]) -> None:
        """Fill the choices from the database."""
        self.team.choices = [
            SelectChoice("", lazy_gettext("No team")),
            *(SelectChoice(str(t.id), t.name) for t in teams),
        ]
        self.languages.choices = [SelectChoice(c, language_name(c)) for c in languages]


class NewPersonForm(_PersonFields):
    email = EmailField(
        lazy_gettext("E-mail"),
        validators=[
            DataRequired(_REQUIRED),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=lazy_gettext("Enter an e-mail address.")),
        ],
    )
    password = _password_field(lazy_gettext("Initial password (only for “Create”)"), required=False)


class EditPersonForm(_PersonFields):
    extra_teams = SelectMultipleField(lazy_gettext("Also works in"), coerce=int)
    open_cap = IntegerField(
        lazy_gettext("Open-mention cap (empty: no cap)"),
        validators=[
            Optional(),
            NumberRange(1, MAX_OPEN_CAP, message=lazy_gettext("Between 1 and %(max)s, or empty.")),
        ],
    )

    def offer(self, teams: list[Team], languages: list[str]) -> None:
        """Fill the choices from the database."""
        super().offer(teams, languages)
        self.extra_teams.choices = [SelectChoice(str(t.id), t.name) for t in teams]


class NewPasswordForm(FlaskForm):
    new_password = _password_field(lazy_gettext("New password"))
    confirm_password = _password_field(lazy_gettext("New password again"))


class ChangePasswordForm(NewPasswordForm):
    current_password = _password_field(lazy_gettext("Current password"))


class LocaleForm(FlaskForm):
    locale = SelectField(
        lazy_gettext("Language of the hub"),
        choices=[
            SelectChoice("", lazy_gettext("As my browser asks")),
            *(SelectChoice(code, name) for code, name in LANGUAGES.items()),
        ],
        validate_choice=True,
    )


class DutyForm(FlaskForm):
    on_duty = SelectField(choices=[SelectChoice("1"), SelectChoice("0")], validate_choice=True)
    next = HiddenField()


def show_errors(form: Any, exc: UserError) -> None:
    """Put a service's reasons next to their fields; the rest above the form."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and name:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")
