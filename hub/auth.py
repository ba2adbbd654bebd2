"""Sign-in (Flask-Login, argon2 hashes) and the role check every route uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from hub.db import get_session
from hub.models import ROLES, Staff

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
_hasher = PasswordHasher()
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """Install Flask-Login on the app."""
    login_manager.init_app(app)


@login_manager.user_loader
def _load(user_id: str) -> Staff | None:
    try:
        return get_session().get(Staff, int(user_id))
    except ValueError:
        return None


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def check_password(staff: Staff, password: str) -> bool:
    """True if the password matches the stored hash."""
    try:
        return _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_staff(
    session: Session,
    email: str,
    name: str,
    role: str,
    password: str,
    languages: list[str] | None = None,
    team_id: int | None = None,
) -> Staff:
    """Add a person; the role must be one of models.ROLES."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("passwords are at least 8 characters")
    staff = Staff(
        email=email.strip().lower(),
        name=name,
        role=role,
        password_hash=hash_password(password),
        languages=languages or ["en"],
        team_id=team_id,
    )
    session.add(staff)
    session.flush()
    return staff


def role_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in staff with one of ``roles`` (admins always) get through; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403, "Your role does not allow this page.")
            return view(*args, **kwargs)

        wrapped.roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        staff = session.scalar(
            select(Staff).where(func.lower(Staff.email) == form.email.data.strip().lower())
        )
        if staff is not None and staff.active and check_password(staff, form.password.data):
            login_user(staff)
            nxt = request.args.get("next", "")
            if not nxt.startswith("/") or nxt.startswith("//"):
                nxt = url_for("home.index")
            return redirect(nxt)
        flash("That email and password don't match an active account.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))
