"""The staff pages: everyone at a glance (managers read, admins change), add or invite a
person, edit, deactivate or reactivate them, and set each team's lead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from hub.auth import NO_PASSWORD, role_required
from hub.db import attempt, get_session
from hub.engagement.assignment import POLICY_LABELS
from hub.engagement.deadlines import BREACH_ACTIONS
from hub.errors import UserError
from hub.i18n import _
from hub.ids import parse_id
from hub.models import ROLE_LABELS, Staff, Team
from hub.people.invites import invite_pending, issue_invite
from hub.people.present import people_rows
from hub.people.staff import (
    NewPerson,
    PersonChanges,
    add_person,
    extra_team_ids,
    language_choices,
    set_person_active,
    set_team_lead,
    set_team_policy,
    update_person,
)
from hub.people.views.forms import EditPersonForm, NewPersonForm, show_errors

bp = Blueprint("people", __name__, url_prefix="/people")
PREFIX = "person"


def _person(staff_id: int) -> Staff:
    staff = get_session().get(Staff, staff_id)
    if staff is None:
        abort(404, _("There is no such person."))
    return staff


def _teams() -> list[Team]:
    return list(get_session().scalars(select(Team).order_by(Team.name)))


def _new_form() -> NewPersonForm:
    form = NewPersonForm(prefix=PREFIX)
    form.offer(_teams(), language_choices(get_session()))
    return form


def _new_page(form: NewPersonForm, status: int = 200) -> Any:
    return render_template("people/staff/new.html", form=form), status


def _new_person(form: NewPersonForm, password: str | None) -> NewPerson:
    return NewPerson(
        email=form.email.data or "",
        name=form.name.data or "",
        role=form.role.data or "",
        team_id=form.team.data,
        languages=tuple(form.languages.data or ()),
        password=password,
    )


def _invited_page(staff: Staff, token: str) -> Any:
    hours = int(current_app.config["INVITE_HOURS"])
    link = url_for("invite.accept", token=token, _external=True)
    response = make_response(
        render_template("people/staff/invited.html", person=staff, link=link, hours=hours)
    )
    response.headers["Cache-Control"] = "no-store"  # the link opens the account: never cached
    return response


@bp.route("/")
@role_required("manager")
def index() -> Any:
    return render_template(
        "people/staff/index.html",
        rows=people_rows(get_session()),
        roles=ROLE_LABELS,
        can_edit=current_user.has_role("admin"),
    )


@bp.route("/new")
@role_required("admin")
def new() -> Any:
    return _new_page(_new_form())


@bp.route("/new", methods=["POST"])
@role_required("admin")
def create() -> Any:
    form = _new_form()
    if not form.validate_on_submit():
        return _new_page(form, 422)
    if not form.password.data:
        form.password.errors = [_("Give an initial password, or invite the person instead.")]
        return _new_page(form, 422)
    try:
        with attempt() as session:
            staff = add_person(session, _new_person(form, form.password.data), current_user.id)
    except UserError as exc:
        show_errors(form, exc)
        return _new_page(form, exc.status)
    flash(_("Added %(name)s. Give them their password in person.", name=staff.name), "ok")
    return redirect(url_for("people.edit", staff_id=staff.id))


@bp.route("/invite", methods=["POST"])
@role_required("admin")
def invite() -> Any:
    form = _new_form()
    form.password.data = None
    if not form.validate_on_submit():
        return _new_page(form, 422)
    lifetime = timedelta(hours=int(current_app.config["INVITE_HOURS"]))
    try:
        with attempt() as session:
            staff = add_person(session, _new_person(form, None), current_user.id)
            token = issue_invite(session, staff, current_user.id, lifetime)
    except UserError as exc:
        show_errors(form, exc)
        return _new_page(form, exc.status)
    return _invited_page(staff, token)


def _edit_form(staff: Staff) -> EditPersonForm:
    session = get_session()
    form = EditPersonForm(
        prefix=PREFIX,
        data={
            "name": staff.name,
            "role": staff.role,
            "team": staff.team_id,
            "extra_teams": extra_team_ids(session, staff.id),
            "languages": list(staff.languages or ()),
            "open_cap": staff.open_cap,
        },
    )
    form.offer(_teams(), language_choices(session))
    return form


def _edit_page(staff: Staff, form: EditPersonForm, status: int = 200) -> Any:
    return render_template(
        "people/staff/edit.html",
        person=staff,
        form=form,
        invite_pending=invite_pending(get_session(), staff.id),
        invited=staff.password_hash == NO_PASSWORD,
    ), status


@bp.route("/<id:staff_id>")
@role_required("admin")
def edit(staff_id: int) -> Any:
    staff = _person(staff_id)
    return _edit_page(staff, _edit_form(staff))


@bp.route("/<id:staff_id>", methods=["POST"])
@role_required("admin")
def update(staff_id: int) -> Any:
    staff = _person(staff_id)
    form = _edit_form(staff)
    if not form.validate_on_submit():
        return _edit_page(staff, form, 422)
    changes = PersonChanges(
        name=form.name.data or "",
        role=form.role.data or "",
        team_id=form.team.data,
        extra_team_ids=tuple(form.extra_teams.data or ()),
        languages=tuple(form.languages.data or ()),
        open_cap=form.open_cap.data,
    )
    try:
        with attempt() as session:
            changed = update_person(session, staff, changes, current_user.id)
    except UserError as exc:
        show_errors(form, exc)
        return _edit_page(staff, form, exc.status)
    if changed:
        flash(_("Saved the changes to %(name)s.", name=staff.name), "ok")
    else:
        flash(_("Nothing changed."), "ok")
    return redirect(url_for("people.edit", staff_id=staff.id))


@bp.route("/<id:staff_id>/active", methods=["POST"])
@role_required("admin")
def active(staff_id: int) -> Any:
    staff = _person(staff_id)
    want = request.form.get("active") == "1"
    try:
        with attempt() as session:
            set_person_active(session, staff, want, current_user.id)
    except UserError as exc:
        flash(exc.message, "error")
        return redirect(url_for("people.edit", staff_id=staff.id))
    if want:
        flash(_("%(name)s can sign in again.", name=staff.name), "ok")
    else:
        flash(
            _(
                "%(name)s is deactivated: their sessions have ended; their history stays.",
                name=staff.name,
            ),
            "ok",
        )
    return redirect(url_for("people.edit", staff_id=staff.id))


@bp.route("/<id:staff_id>/invite", methods=["POST"])
@role_required("admin")
def reinvite(staff_id: int) -> Any:
    staff = _person(staff_id)
    lifetime = timedelta(hours=int(current_app.config["INVITE_HOURS"]))
    try:
        with attempt() as session:
            token = issue_invite(session, staff, current_user.id, lifetime)
    except UserError as exc:
        flash(exc.message, "error")
        return redirect(url_for("people.edit", staff_id=staff.id))
    return _invited_page(staff, token)


@bp.route("/teams")
@role_required("manager")
def teams() -> Any:
    """Team leads (admins change them) and each team's assignment and breach policy
    (managers and admins change them)."""
    session = get_session()
    people = session.scalars(select(Staff).where(Staff.active).order_by(Staff.name)).all()
    return render_template(
        "people/staff/teams.html",
        teams=_teams(),
        people=people,
        policies=POLICY_LABELS,
        breach_actions=BREACH_ACTIONS,
        can_set_leads=current_user.has_role("admin"),
    )


@bp.route("/teams/policies", methods=["POST"])
@role_required("manager")
def set_policies() -> Any:
    changed = 0
    for team in _teams():
        policy = request.form.get(f"assignment-{team.id}")
        action = request.form.get(f"breach-{team.id}")
        if policy is None and action is None:
            continue
        try:
            with attempt() as session:
                changed += set_team_policy(
                    session,
                    team,
                    policy or team.assignment_policy,
                    action or team.breach_action,
                    current_user.id,
                )
        except UserError as exc:
            flash(f"{team.name}: {exc.message}", "error")
            return redirect(url_for("people.teams"))
    flash(_("Saved the team policies.") if changed else _("Nothing changed."), "ok")
    return redirect(url_for("people.teams"))


@bp.route("/teams", methods=["POST"])
@role_required("admin")
def set_leads() -> Any:
    changed = 0
    for team in _teams():
        field = f"lead-{team.id}"
        if field not in request.form:
            continue
        raw = request.form[field]
        lead_id = parse_id(raw) if raw else None
        if raw and lead_id is None:
            flash(_("That is not a person."), "error")
            return redirect(url_for("people.teams"))
        try:
            with attempt() as session:
                changed += set_team_lead(session, team, lead_id, current_user.id)
        except UserError as exc:
            flash(f"{team.name}: {exc.message}", "error")
            return redirect(url_for("people.teams"))
    flash(_("Saved the team leads.") if changed else _("Nothing changed."), "ok")
    return redirect(url_for("people.teams"))
