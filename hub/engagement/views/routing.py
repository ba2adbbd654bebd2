"""The routing editor: community managers list, write, preview, reorder, switch and delete the
rules that send each new mention to a team (first match wins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from hub.auth import role_required
from hub.db import attempt, get_session
from hub.engagement import routing
from hub.engagement.rules import (
    ASSIGNMENT_WORDS,
    MAX_NAME,
    MAX_SLA,
    RuleDraft,
    account_choices,
    create_rule,
    delete_rule,
    describe_conditions,
    explain_route,
    get_rule,
    key_attributes,
    known_platforms,
    move_rule,
    ordered_rules,
    preview_rule,
    refuse_bad_draft,
    set_rule_enabled,
    split_tags,
    split_words,
    update_rule,
    value_word,
)
from hub.errors import UserError
from hub.i18n import _
from hub.i18n import lazy_gettext as _l
from hub.ids import parse_id
from hub.models import Mention, RoutingRule, Team

bp = Blueprint("routing", __name__, url_prefix="/routing")
PREFIX = "rule"
#: the longest word list a form field takes (the service counts the words)
MAX_WORDS_TEXT = 40_000
MAX_FOLLOWERS = 10**12
_BOOL = {"yes": True, "no": False}


def _team_or_none(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return parse_id(value) if value not in (None, "", "None") else None


def _position(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _condition_field(spec: routing.Condition) -> Field:
    if spec.kind == "choices":
        return SelectMultipleField(
            spec.label,
            choices=[SelectChoice(c, value_word(c)) for c in spec.choices],
            widget=ListWidget(prefix_label=False),
            option_widget=CheckboxInput(),
        )
    if spec.kind == "bool":
        return SelectField(
            spec.label,
            choices=[
                SelectChoice("", _l("Any")),
                SelectChoice("yes", _l("Yes")),
                SelectChoice("no", _l("No")),
            ],
            default="",
        )
    if spec.kind == "int":
        return IntegerField(
            spec.label,
            validators=[
                Optional(),
                NumberRange(0, MAX_FOLLOWERS, message=_l("A whole number, 0 or more.")),
            ],
        )
    if spec.kind == "words":
        return TextAreaField(
            spec.label,
            validators=[Length(max=MAX_WORDS_TEXT, message=_l("That list is too long."))],
        )
    return StringField(spec.label, validators=[Length(max=2000)])


class RuleForm(FlaskForm):
    """A rule: its name and place, one field per condition of the catalogue, and its actions."""

    name = StringField(
        _l("Name"),
        validators=[InputRequired(_l("Give the rule a name.")), Length(max=MAX_NAME)],
    )
    position = SelectField(_l("Place in the list"), coerce=_position, validate_choice=True)
    team = SelectField(_l("Send to team"), coerce=_team_or_none, validate_choice=False)
    priority = SelectField(
        _l("Priority"),
        choices=[SelectChoice(p, p) for p in routing.PRIORITIES],
        default="p2",
    )
    sla_minutes = IntegerField(
        _l("First response within (minutes; empty: the priority's default)"),
        validators=[
            Optional(),
            NumberRange(1, MAX_SLA, message=_l("Between 1 and %(max)s minutes, or empty.")),
        ],
    )
    tags = StringField(_l("Tags to add (comma separated)"), validators=[Length(max=2000)])
    assignment = SelectField(
        _l("Assignment"),
        choices=[SelectChoice(k, v) for k, v in ASSIGNMENT_WORDS.items()],
        default="",
    )

    def offer(self, teams: list[Team], places: int, accounts: list[tuple[str, str]]) -> None:
        """Fill the choices from the database."""
        self.team.choices = [
            SelectChoice("", _l("Choose a team")),
            *(SelectChoice(str(t.id), t.name) for t in teams),
        ]
        self.position.choices = [
            SelectChoice(str(i), _("%(n)s (first)", n=i) if i == 1 else str(i))
            for i in range(1, places + 1)
        ]
        self.c_platforms.choices = [SelectChoice(p, p) for p in known_platforms()]
        self.c_accounts.choices = [SelectChoice(a, label) for a, label in accounts]

    def condition_fields(self) -> list[tuple[routing.Condition, Field]]:
        """Each condition of the catalogue with its field, in the catalogue's order."""
        return [(spec, self[f"c_{spec.key}"]) for spec in routing.CONDITIONS]

    def draft(self) -> RuleDraft:
        """The service's input: what the form holds."""
        cond: dict[str, Any] = {}
        for spec, f in self.condition_fields():
            if spec.kind == "choices":
                value: Any = list(f.data or [])
            elif spec.kind == "bool":
                value = _BOOL.get(f.data or "")
            elif spec.kind == "words":
                value = split_words(f.data or "")
            elif spec.kind == "regex":
                value = f.data if (f.data or "").strip() else None
            else:
                value = f.data
            if value not in (None, [], ""):
                cond[spec.key] = value
        return RuleDraft(
            name=self.name.data or "",
            conditions=cond,
            team_id=self.team.data,
            priority=self.priority.data or "",
            sla_minutes=self.sla_minutes.data,
            tags=tuple(split_tags(self.tags.data or "")),
            assignment=self.assignment.data or None,
            position=self.position.data,
        )


for _spec in routing.CONDITIONS:
    setattr(RuleForm, f"c_{_spec.key}", _condition_field(_spec))


def _form_data(rule: RoutingRule, place: int) -> dict[str, Any]:
    cond = rule.conditions or {}
    data: dict[str, Any] = {
        "name": rule.name,
        "position": place,
        "team": rule.team_id,
        "priority": rule.priority or "p3",
        "sla_minutes": rule.sla_minutes,
        "tags": ", ".join(rule.tags or []),
        "assignment": rule.assignment or "",
    }
    for spec in routing.CONDITIONS:
        value = cond.get(spec.key)
        if spec.kind == "bool":
            value = "" if value is None else ("yes" if value else "no")
        elif spec.kind == "words":
            value = "\n".join(value or [])
        elif spec.kind == "choices":
            value = [str(v) for v in value or []]
        data[f"c_{spec.key}"] = value
    return data


def _form(rule: RoutingRule | None = None) -> RuleForm:
    session = get_session()
    rules = ordered_rules(session)
    places = len(rules) + (0 if rule is not None else 1)
    if rule is None:
        form = RuleForm(prefix=PREFIX, data={"position": 1 if not rules else places})
    else:
        place = next((i for i, r in enumerate(rules, start=1) if r.id == rule.id), 1)
        form = RuleForm(prefix=PREFIX, data=_form_data(rule, place))
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    form.offer(teams, max(places, 1), account_choices(session))
    return form


def _show_errors(form: RuleForm, exc: UserError) -> None:
    """A service's reasons next to their fields (conditions under ``c_<key>``); the rest above."""
    for name, message in exc.errors.items():
        target = getattr(form, name, None) if name else None
        if target is None and name:
            target = getattr(form, f"c_{name}", None)
        if isinstance(target, Field):
            target.errors = [*target.errors, message]
        else:
            flash(message, "error")


def _team_names() -> dict[int, str]:
    return {t.id: t.name for t in get_session().scalars(select(Team))}


def _page(form: RuleForm, rule: RoutingRule | None, preview: Any = None, status: int = 200) -> Any:
    return render_template(
        "engagement/routing/edit.html",
        form=form,
        rule=rule,
        preview=preview,
        teams=_team_names(),
    ), status


@bp.route("/")
@role_required("manager")
def index() -> Any:
    session = get_session()
    accounts = dict(account_choices(session))
    rules = ordered_rules(session)
    return render_template(
        "engagement/routing/index.html",
        rows=[(r, describe_conditions(r.conditions or {}, accounts)) for r in rules],
        teams=_team_names(),
        assignment_words=ASSIGNMENT_WORDS,
    )


@bp.route("/new")
@role_required("manager")
def new() -> Any:
    return _page(_form(), None)


def _save_or_preview(form: RuleForm, rule: RoutingRule | None) -> Any:
    """Preview (reads only) or save the form; on a problem, the form again with the reasons."""
    if not form.validate_on_submit():
        return _page(form, rule, status=422)
    draft = form.draft()
    try:
        if request.form.get("action") == "preview":
            session = get_session()
            refuse_bad_draft(session, draft)
            return _page(form, rule, preview_rule(session, draft, rule.id if rule else None))
        with attempt() as session:
            if rule is None:
                saved = create_rule(session, draft, current_user.id)
                flash(
                    _(
                        "Saved “%(name)s”. It is switched off: enable it when you are ready.",
                        name=saved.name,
                    ),
                    "ok",
                )
            elif update_rule(session, rule, draft, current_user.id):
                flash(_("Saved the changes to “%(name)s”.", name=rule.name), "ok")
            else:
                flash(_("Nothing changed."), "ok")
    except UserError as exc:
        _show_errors(form, exc)
        return _page(form, rule, status=exc.status)
    return redirect(url_for("routing.index"))


@bp.route("/new", methods=["POST"])
@role_required("manager")
def create() -> Any:
    return _save_or_preview(_form(), None)


def _rule(rule_id: int) -> RoutingRule:
    try:
        return get_rule(get_session(), rule_id)
    except UserError as exc:
        abort(404, exc.message)


@bp.route("/<id:rule_id>")
@role_required("manager")
def edit(rule_id: int) -> Any:
    rule = _rule(rule_id)
    return _page(_form(rule), rule)


@bp.route("/<id:rule_id>", methods=["POST"])
@role_required("manager")
def update(rule_id: int) -> Any:
    rule = _rule(rule_id)
    return _save_or_preview(_form(rule), rule)


@bp.route("/<id:rule_id>/enabled", methods=["POST"])
@role_required("manager")
def enabled(rule_id: int) -> Any:
    rule = _rule(rule_id)
    want = request.form.get("enabled")
    if want not in ("0", "1"):
        flash(_("Choose whether the rule is on or off."), "error")
        return redirect(url_for("routing.index"))
    with attempt() as session:
        set_rule_enabled(session, rule, want == "1", current_user.id)
    if want == "1":
        flash(_("“%(name)s” is on: new mentions are routed by it.", name=rule.name), "ok")
    else:
        flash(_("“%(name)s” is off.", name=rule.name), "ok")
    return redirect(url_for("routing.index"))


@bp.route("/<id:rule_id>/move", methods=["POST"])
@role_required("manager")
def move(rule_id: int) -> Any:
    rule = _rule(rule_id)
    try:
        with attempt() as session:
            move_rule(session, rule, request.form.get("direction", ""), current_user.id)
    except UserError as exc:
        flash(exc.message, "error")
    return redirect(url_for("routing.index"))


@bp.route("/<id:rule_id>/delete")
@role_required("manager")
def confirm_delete(rule_id: int) -> Any:
    rule = _rule(rule_id)
    accounts = dict(account_choices(get_session()))
    return render_template(
        "engagement/routing/delete.html",
        rule=rule,
        summary=describe_conditions(rule.conditions or {}, accounts),
    )


@bp.route("/<id:rule_id>/delete", methods=["POST"])
@role_required("manager")
def delete(rule_id: int) -> Any:
    rule = _rule(rule_id)
    name = rule.name
    with attempt() as session:
        delete_rule(session, rule, current_user.id)
    flash(_("Deleted “%(name)s”.", name=name), "ok")
    return redirect(url_for("routing.index"))


@bp.app_template_global("routing_triage")
def routing_triage(mention: Mention) -> dict[str, Any]:
    """For the conversation page: the rule that routed the mention, why, and what triage found."""
    why = mention.routing_why or {}
    rule_id = why.get("rule_id")
    rule = get_session().get(RoutingRule, rule_id) if isinstance(rule_id, int) else None
    return {
        "routed": rule_id is not None,
        "rule_name": why.get("rule") or (rule.name if rule else ""),
        "rule": rule,
        "reasons": explain_route(why, rule),
        "attributes": key_attributes(mention.attributes, mention.language),
        "tags": list(mention.tags or []),
    }
