"""Sign-in (Flask-Login, argon2 hashes), sessions, and the role check every route uses.

A sign-in holds the database only briefly: the attempt is counted and the person looked up in
one short transaction, the password is verified with no transaction open (argon2 takes a
noticeable fraction of a second by design), and a success is written in a second short one.
Failed sign-ins are limited per account and per client address (``hub.throttle``). Unknown and
inactive e-mails cost the same argon2 work as a wrong password, so timing does not tell which
e-mails have accounts.

A session names the person and their ``session_version``; signing out, a new password and
deactivation raise the version, which ends every session signed in before, copied cookies
included. A sign-in also ends after ``PERMANENT_SESSION_LIFETIME`` seconds.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length
from zxcvbn import zxcvbn

from hub.db import get_session, no_transaction
from hub.errors import Conflict, UserError
from hub.i18n import _, lazy_gettext, ngettext
from hub.models import ROLES, Staff, Team, utcnow
from hub.throttle import Limit, Refusal, forgive_attempt, reserve_attempt

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Please sign in to continue.")
_hasher = PasswordHasher()
F = TypeVar("F", bound=Callable[..., Any])

#: NIST SP 800-63B asks for at least 8; the hub asks for 12
MIN_PASSWORD_LENGTH = 12
#: the sign-in form's own limit
MAX_PASSWORD_LENGTH = 200
#: zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable" (over 10^8 guesses)
MIN_PASSWORD_SCORE = 3
#: zxcvbn refuses longer input; a password is judged by its first 72 characters
_ZXCVBN_MAX = 72
#: an ISO 639-1 language code
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
#: the password hash of a person who has not set a password yet (invited): matches nothing
NO_PASSWORD = ""
#: where the time of the sign-in is kept in the session
_SIGNED_IN_AT = "signed_in_at"
#: password checks run at once in this process: argon2 keeps every core busy (and takes 64 MiB),
#: so more at once only queue for the CPU and starve every other request; measured with 30
#: clients flooding sign-ins, /queue answered in a median 62 ms with this bound, 3.2 s without
_hash_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
#: the hash an unknown or inactive e-mail is verified against: (hasher, hash)
_dummy: list[tuple[PasswordHasher, str]] = []


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, sent with the Secure flag (when ``SESSION_COOKIE_SECURE``
    is on) unless the request is plain HTTP to a loopback host, so `make run` on 127.0.0.1
    still signs in while the hub on any other name only ever sends the cookie over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) and not _plain_http_to_loopback()


def _plain_http_to_loopback() -> bool:
    if request.is_secure:
        return False
    host = urlsplit(f"//{request.host}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def init_app(app: Flask) -> None:
    """Install Flask-Login and the session cookie's Secure rule on the app."""
    login_manager.init_app(app)
    app.session_interface = _SessionInterface()


@login_manager.user_loader
def _load(session_id: str) -> Staff | None:
    user_id, _, version = session_id.partition(".")
    try:
        staff = get_session().get(Staff, int(user_id))
    except ValueError:
        return None
    # an inactive person is refused too: Flask-Login's is_authenticated is Staff.is_active
    if staff is None or version != str(staff.session_version):
        return None
    signed_in_at = web_session.get(_SIGNED_IN_AT)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at > lifetime:
        return None
    return staff


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(staff: Staff, password: str) -> bool:
    """Whether ``password`` is the person's (no throttle: for the CLI, never a web form)."""
    return bool(staff.password_hash) and _verify(staff.password_hash, password)


def _dummy_hash() -> str:
    """A hash of a random password, made with the hasher in use (so with its cost)."""
    if not _dummy or _dummy[0][0] is not _hasher:
        _dummy[:] = [(_hasher, _hasher.hash(secrets.token_urlsafe(16)))]
    return _dummy[0][1]


def password_problem(password: str, *hints: str) -> str | None:
    """Why ``password`` is not good enough for an account, or None.

    At least 12 characters, and not guessable by zxcvbn (its lists of common and breached
    passwords, words, names, keyboard patterns, dates; ``hints`` such as the e-mail and name
    count as guessable too).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Passwords are at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Passwords are at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    # each word of the e-mail and name, also without accents ("Díaz" is typed "diaz")
    folded = [
        "".join(c for c in unicodedata.normalize("NFKD", hint) if not unicodedata.combining(c))
        for hint in hints
    ]
    words = [part for hint in [*hints, *folded] for part in re.split(r"[\W_]+", hint) if part]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[*hints, *folded, *words])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    advice = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
    return f"{_('That password is too easy to guess.')} {advice}".strip()


def create_staff(
    session: Session,
    email: str,
    name: str,
    role: str,
    password: str | None,
    languages: list[str] | None = None,
    team_id: int | None = None,
    *,
    check_strength: bool = True,
) -> Staff:
    """Add a person; the role must be one of models.ROLES, the team must exist, the password
    strong enough (``password_problem``) unless ``check_strength`` is off (test fixtures).

    With no password the person cannot sign in until they set one through an invite link.
    """
    email = email.strip().lower()
    name = name.strip()
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = _("The role must be one of: %(roles)s.", roles=", ".join(ROLES))
    if not name:
        errors["name"] = _("Give the person's name.")
    if any(not _LANGUAGE_CODE.fullmatch(code) for code in languages or ()):
        errors["languages"] = _("Languages are two-letter ISO 639-1 codes, e.g. en, es, zh.")
    if team_id is not None and session.get(Team, team_id) is None:
        errors["team"] = _("There is no such team.")
    if session.scalar(select(Staff.id).where(func.lower(Staff.email) == email)) is not None:
        taken = _("There is already an account for %(email)s.", email=email)
        raise Conflict(taken, errors={"email": taken})
    unchecked = password is None or not check_strength
    if not unchecked and (problem := password_problem(password or "", email, name)):
        errors["password"] = problem
    if errors:
        raise UserError(" ".join(errors.values()), errors=errors)
    staff = Staff(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else NO_PASSWORD,
        languages=languages or ["en"],
        team_id=team_id,
    )
    session.add(staff)
    session.flush()
    return staff


def end_sessions(session: Session, staff_id: int) -> None:
    """End every session the person has signed in (on every device, copies included)."""
    session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(session_version=Staff.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def change_password(session: Session, staff: Staff, password: str) -> None:
    """Set a new password (checked like a new account's) and end every session."""
    if problem := password_problem(password, staff.email, staff.name):
        raise UserError(problem)
    staff.password_hash = hash_password(password)
    session.flush()
    end_sessions(session, staff.id)


def deactivate_staff(session: Session, staff: Staff) -> None:
    """Stop the person signing in, and end every session they have."""
    staff.active = False
    session.flush()
    end_sessions(session, staff.id)


def _limits(email: str, address: str) -> tuple[Limit, Limit]:
    config = current_app.config
    return (
        Limit("account", email, int(config["LOGIN_FAILURES_PER_ACCOUNT"])),
        Limit("address", address, int(config["LOGIN_FAILURES_PER_ADDRESS"])),
    )


def authenticate(email: str, password: str, address: str) -> Staff | Refusal | None:
    """The active person with this e-mail and password; a ``Refusal`` when too many sign-ins
    failed for the account or from the address; None for a wrong e-mail or password.

    Runs in the request's session, in two short transactions around the password check.
    """
    db = get_session()
    email = email.strip().lower()
    account, client = _limits(email, address)
    window = timedelta(seconds=int(current_app.config["LOGIN_FAILURE_WINDOW"]))
    refusal = reserve_attempt(db, (account, client), window, utcnow())
    if refusal is not None:
        return refusal
    staff = db.scalar(select(Staff).where(func.lower(Staff.email) == email))
    known = staff.password_hash if staff is not None and staff.active else None
    with no_transaction(), _hash_slots:
        ok = _verify(known or _dummy_hash(), password)
        rehash = ok and known is not None and _hasher.check_needs_rehash(known)
        new_hash = hash_password(password) if rehash else None
    if not ok or staff is None:
        return None
    # the person may have changed meanwhile (deactivated, a new password): check again
    staff = db.get(Staff, staff.id, populate_existing=True)
    if staff is None or not staff.active or staff.password_hash != known:
        return None
    forgive_attempt(db, cleared=[account], undone=[client])
    if new_hash is not None:
        staff.password_hash = new_hash
    db.flush()
    return staff


def safe_next(value: str) -> str | None:
    """``value`` if it is a path on this site, else None (no open redirect after sign-in).

    Refused: a scheme or host, a leading ``//`` (a host to browsers), a backslash (read as
    ``/`` by browsers), and control or other invisible characters (browsers drop tabs and
    newlines, so ``/\\t/evil.example`` becomes ``//evil.example``).
    """
    value = value.strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if not value.isprintable():
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def role_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in staff with one of ``roles`` (admins always) get through; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403, _("Your role does not allow this page."))
            return view(*args, **kwargs)

        wrapped.roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def sign_in(staff: Staff) -> None:
    """Start a session for ``staff`` in this browser (a sign-in, a new password, an invite)."""
    login_user(staff)
    web_session[_SIGNED_IN_AT] = time.time()


class LoginForm(FlaskForm):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[
            DataRequired(lazy_gettext("Enter your e-mail address.")),
            Length(max=254, message=lazy_gettext("That e-mail address is too long.")),
        ],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[
            DataRequired(lazy_gettext("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=lazy_gettext("That password is too long.")),
        ],
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if not form.validate_on_submit():
        if form.is_submitted():
            flash(_("Enter your e-mail and password to sign in."), "error")
        return render_template("auth/login.html", form=form)
    outcome = authenticate(form.email.data, form.password.data, request.remote_addr or "")
    if isinstance(outcome, Refusal):
        minutes = -(-outcome.retry_after // 60)
        flash(
            ngettext(
                "Too many failed sign-ins for this account or from this address. "
                "Try again in %(num)d minute.",
                "Too many failed sign-ins for this account or from this address. "
                "Try again in %(num)d minutes.",
                minutes,
            ),
            "error",
        )
        response = make_response(render_template("auth/login.html", form=form), 429)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome is not None:
        sign_in(outcome)
        return redirect(safe_next(request.args.get("next", "")) or url_for("home.index"))
    flash(_("That email and password don't match an active account."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    end_sessions(get_session(), current_user.id)
    logout_user()
    return redirect(url_for("auth.login"))
