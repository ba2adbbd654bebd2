"""Sign-in hardening: short transactions and read-only GETs, the failed sign-in limit, the same
work for unknown e-mails, same-site redirects, sessions that end, and strong passwords."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from itsdangerous import TimestampSigner
from sqlalchemy import create_engine, func, select, update
from werkzeug.serving import make_server

import hub.auth
import hub.cli
from hub import db
from hub.auth import change_password, create_staff, deactivate_staff, password_problem, safe_next
from hub.errors import Conflict, UserError
from hub.models import LoginThrottle, Setting, Staff, utcnow

PASSWORD = "password123"  # make_staff's


class _Hasher:
    """Wraps the tests' argon2 hasher: counts verifications and can hold them until released."""

    def __init__(self, real: Any, hold: bool = False) -> None:
        self.real = real
        self.verified = 0
        self.held = threading.Condition()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def verify(self, password_hash: str, password: str) -> bool:
        with self.held:
            self.verified += 1
            self.held.notify_all()
        assert self.release.wait(timeout=120), "never released"
        return bool(self.real.verify(password_hash, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> _Hasher:
    counting = _Hasher(hub.auth._hasher)
    monkeypatch.setattr(hub.auth, "_hasher", counting)
    return counting


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by a threaded werkzeug server on 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=30)


def _sign_in(client: Any, email: str, password: str, **kw: Any) -> Any:
    return client.post("/login", data={"email": email, "password": password}, **kw)


def _is_sqlite(app: Flask) -> bool:
    return bool(app.extensions["hub.engine"].dialect.name == "sqlite")


# --- the database is held briefly -------------------------------------------------------------


def test_thirty_concurrent_wrong_passwords_hold_no_lock_and_the_queue_answers(
    app, live_server, make_staff, monkeypatch
):
    """Thirty sign-ins wait inside the password check at once: none holds the database, so
    /queue and a scheduler job's write go through meanwhile; then all thirty are answered."""
    staff = [make_staff("employee") for _ in range(3)]
    manager = make_staff("manager")
    reader = httpx.Client(base_url=live_server, timeout=60)
    assert _sign_in(reader, manager.email, PASSWORD).status_code == 302
    held = _Hasher(hub.auth._hasher, hold=True)
    monkeypatch.setattr(hub.auth, "_hasher", held)
    monkeypatch.setattr(hub.auth, "_hash_slots", threading.BoundedSemaphore(30))
    emails = [s.email for s in staff] + [f"nobody{i}@example.test" for i in range(27)]
    statuses: list[Any] = []

    def attack(email: str) -> None:
        with httpx.Client(base_url=live_server, timeout=120) as client:
            try:
                statuses.append(_sign_in(client, email, "wrong-password").status_code)
            except httpx.HTTPError as exc:
                statuses.append(repr(exc))

    threads = [threading.Thread(target=attack, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    try:
        with held.held:
            all_in = held.held.wait_for(lambda: held.verified == 30, timeout=60)
        assert all_in, f"only {held.verified} of 30 sign-ins reached the password check at once"
        assert reader.get("/queue").status_code == 200
        with db.job_session(app) as s:  # what the poll job does: a write transaction
            s.add(Setting(key="probe.job", value=1, updated_by=None, updated_at=utcnow()))
    finally:
        held.release.set()
        for t in threads:
            t.join(timeout=120)
        reader.close()
    assert statuses == [200] * 30


class _Slots:
    """A semaphore that counts the sign-ins that came to it (and tells ``arrivals``)."""

    def __init__(self, slots: int, arrivals: threading.Condition) -> None:
        self.semaphore = threading.BoundedSemaphore(slots)
        self.arrived = 0
        self.arrivals = arrivals

    def __enter__(self) -> None:
        with self.arrivals:
            self.arrived += 1
            self.arrivals.notify_all()
        self.semaphore.acquire()

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


def test_password_checks_at_once_are_bounded(app, make_staff, monkeypatch):
    """Sign-ins beyond the bound wait for a slot (with no transaction open) rather than all
    hashing at once and starving every other request of CPU."""
    held = _Hasher(hub.auth._hasher, hold=True)
    slots = _Slots(1, held.held)
    monkeypatch.setattr(hub.auth, "_hasher", held)
    monkeypatch.setattr(hub.auth, "_hash_slots", slots)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        statuses.append(_sign_in(app.test_client(), f"n{i}@example.test", "wrong").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        with held.held:
            arrived = held.held.wait_for(lambda: slots.arrived == 3, timeout=60)
        assert arrived and held.verified == 1
    finally:
        held.release.set()
        for t in threads:
            t.join(timeout=60)
    assert statuses == [200] * 3 and held.verified == 3


def test_get_requests_read_while_another_connection_holds_the_write_lock(
    app, client, login, make_staff
):
    if not _is_sqlite(app):
        pytest.skip("PostgreSQL readers never wait for writers")
    login(client, make_staff("manager"))
    writer = create_engine(app.config["DATABASE_URL"])
    try:
        with writer.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            assert client.get("/queue").status_code == 200
            conn.exec_driver_sql("ROLLBACK")
    finally:
        writer.dispose()


@pytest.fixture
def write_probe(app: Flask) -> Flask:
    """A route that writes, reachable by GET and POST."""

    def write() -> str:
        session = db.get_session()
        session.add(
            Setting(key=f"probe.{_method()}", value=1, updated_by=None, updated_at=utcnow())
        )
        session.flush()
        return "written"

    app.add_url_rule("/_probe/write", "probe_write", write, methods=["GET", "POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _method() -> str:
    from flask import request

    return request.method.lower()


def test_a_get_request_cannot_write(write_probe):
    """A GET's transaction is read-only, so it can never meet SQLITE_BUSY_SNAPSHOT by writing
    late; the same route by POST writes."""
    client = write_probe.test_client()
    assert client.get("/_probe/write").status_code == 500
    assert client.post("/_probe/write").status_code == 200
    with db.job_session(write_probe) as s:
        assert set(s.scalars(select(Setting.key).where(Setting.key.like("probe.%")))) == {
            "probe.post"
        }


def test_no_transaction_commits_first_and_releases_the_database(app):
    with app.test_request_context("/", method="POST"):
        session = db.get_session()
        session.add(Setting(key="probe.before", value=1, updated_by=None, updated_at=utcnow()))
        session.flush()
        with db.no_transaction():
            assert not session.in_transaction()
            if _is_sqlite(app):  # another writer gets the lock at once
                other = create_engine(app.config["DATABASE_URL"], connect_args={"timeout": 0.5})
                try:
                    with other.connect() as conn:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                        conn.exec_driver_sql("ROLLBACK")
                finally:
                    other.dispose()
        db.discard()
    with db.job_session(app) as s:
        assert s.get(Setting, "probe.before") is not None


def test_no_transaction_refuses_a_block_that_uses_the_database(app):
    with app.test_request_context("/", method="POST"):
        session = db.get_session()
        with pytest.raises(RuntimeError, match="used the database"), db.no_transaction():
            session.execute(select(func.count(Staff.id))).scalar()


# --- failed sign-ins are limited --------------------------------------------------------------


def test_brute_force_is_answered_429_and_the_right_password_waits(app, client, make_staff):
    staff = make_staff("employee")
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    for i in range(limit):
        assert _sign_in(client, staff.email, f"guess-{i}").status_code == 200
    refused = _sign_in(client, staff.email, "guess-again")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= app.config["LOGIN_FAILURE_WINDOW"]
    assert (
        b"Too many failed sign-ins" in refused.data and b"Try again in 15 minutes" in refused.data
    )
    right = _sign_in(client, staff.email.upper(), PASSWORD)
    assert right.status_code == 429 and "Retry-After" in right.headers
    with db.job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 2
        assert all(len(key) == 64 for key in s.scalars(select(LoginThrottle.key)))


def test_the_window_ends(app, client, make_staff, monkeypatch):
    staff = make_staff("employee")
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 2
    for _ in range(2):
        _sign_in(client, staff.email, "wrong")
    assert _sign_in(client, staff.email, PASSWORD).status_code == 429
    later = utcnow() + timedelta(seconds=app.config["LOGIN_FAILURE_WINDOW"] + 1)
    monkeypatch.setattr(hub.auth, "utcnow", lambda: later)
    assert _sign_in(client, staff.email, PASSWORD).status_code == 302


def test_failures_from_one_address_are_limited_across_emails(app, client, make_staff):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 3
    staff = make_staff("employee")
    for i in range(3):
        assert _sign_in(client, f"someone{i}@example.test", "wrong").status_code == 200
    assert _sign_in(client, staff.email, PASSWORD).status_code == 429
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}  # another client (test client only, no network)
    assert _sign_in(client, staff.email, PASSWORD, environ_base=elsewhere).status_code == 302


def test_a_success_clears_the_account_and_takes_back_the_address_attempt(app, make_staff):
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 3
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 5
    staff = make_staff("employee")
    client = app.test_client()
    for _ in range(2):
        _sign_in(client, staff.email, "wrong")
    assert _sign_in(client, staff.email, PASSWORD).status_code == 302
    client = app.test_client()
    for _ in range(2):  # the account's count started again
        assert _sign_in(client, staff.email, "wrong").status_code == 200
    assert _sign_in(client, staff.email, PASSWORD).status_code == 302  # 4 failures, not 5
    assert _sign_in(app.test_client(), "other@example.test", "wrong").status_code == 200
    assert _sign_in(app.test_client(), "other@example.test", "wrong").status_code == 429


def test_expired_rows_are_pruned(app, client, make_staff, monkeypatch):
    for i in range(3):
        _sign_in(client, f"typo{i}@example.test", "wrong")
    much_later = utcnow() + 3 * timedelta(seconds=app.config["LOGIN_FAILURE_WINDOW"])
    monkeypatch.setattr(hub.auth, "utcnow", lambda: much_later)
    _sign_in(client, "typo9@example.test", "wrong")
    with db.job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 2  # this one's


# --- unknown e-mails cost the same work -------------------------------------------------------


@pytest.mark.parametrize("case", ["unknown", "inactive", "wrong password", "right password"])
def test_every_answer_verifies_one_password_hash(app, client, make_staff, hasher, case):
    staff = make_staff("employee")
    if case == "inactive":
        with db.job_session(app) as s:
            s.execute(update(Staff).where(Staff.id == staff.id).values(active=False))
    email = "nobody@example.test" if case == "unknown" else staff.email
    password = PASSWORD if case in ("right password", "inactive") else "wrong-password"
    resp = _sign_in(client, email, password)
    assert resp.status_code == (302 if case == "right password" else 200)
    assert hasher.verified == 1


def test_a_hash_made_with_an_older_cost_is_replaced_at_sign_in(app, client, make_staff, hasher):
    from argon2 import PasswordHasher

    staff = make_staff("employee")
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    hasher.real = stronger
    assert _sign_in(client, staff.email, PASSWORD).status_code == 302
    with db.job_session(app) as s:
        new_hash = s.get(Staff, staff.id).password_hash  # type: ignore[union-attr]
    assert new_hash != staff.password_hash and not stronger.check_needs_rehash(new_hash)
    assert stronger.verify(new_hash, PASSWORD)


def test_a_person_deactivated_during_the_check_is_not_signed_in(app, client, make_staff, hasher):
    staff = make_staff("employee")
    real_verify = hasher.verify

    def verify_while_deactivated(password_hash: str, password: str) -> bool:
        with db.job_session(app) as s:
            s.execute(update(Staff).where(Staff.id == staff.id).values(active=False))
        return real_verify(password_hash, password)

    hasher.verify = verify_while_deactivated  # type: ignore[method-assign]
    assert _sign_in(client, staff.email, PASSWORD).status_code == 200


# --- redirects stay on the site ---------------------------------------------------------------

HOSTILE_NEXT = [
    "//evil.example/",
    "///evil.example/",
    "/%09/evil.example/phish",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "%09//evil.example",
    "%20//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%00/evil.example",
    "/%E2%80%A8/evil.example",
]


@pytest.mark.parametrize("nxt", HOSTILE_NEXT)
def test_a_hostile_next_lands_on_the_home_page(client, make_staff, nxt):
    resp = client.post(
        f"/login?next={nxt}", data={"email": make_staff().email, "password": PASSWORD}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("nxt", ["/queue", "/mentions/3?tab=thread", "/posts/new#compose"])
def test_a_same_site_next_is_followed(client, make_staff, nxt):
    resp = client.post(
        "/login",
        query_string={"next": nxt},
        data={"email": make_staff().email, "password": PASSWORD},
    )
    assert resp.headers["Location"] == nxt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  /queue  ", "/queue"),
        ("/a//b", "/a//b"),
        ("/\t/evil.example", None),
        ("/\u2028/evil.example", None),
        ("//evil.example", None),
        ("\\/evil.example", None),
        ("/x\\y", None),
        ("", None),
    ],
)
def test_safe_next(value, expected):
    assert safe_next(value) == expected


# --- sessions end -----------------------------------------------------------------------------


def _copy(client: Any) -> Any:
    """A second client with the first one's session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = client.application.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_cookie_copied_before_sign_out_no_longer_works_after(client, login, make_staff):
    login(client, make_staff("manager"))
    thief = _copy(client)
    assert thief.get("/queue").status_code == 200
    assert client.post("/logout").status_code == 302
    resp = thief.get("/queue")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("change", ["new password", "deactivated", "inactive only"])
def test_a_new_password_or_deactivation_ends_every_session(app, client, login, make_staff, change):
    staff = make_staff("manager")
    login(client, staff)
    with db.job_session(app) as s:
        person = s.get(Staff, staff.id)
        assert person is not None
        if change == "new password":
            change_password(s, person, "a-fresh-long-passphrase")
        elif change == "deactivated":
            deactivate_staff(s, person)
        else:  # deactivated by hand in the database: Flask-Login refuses an inactive person
            person.active = False
    assert client.get("/queue").status_code == 302


def test_sessions_ended_by_deactivation_stay_ended_after_reactivation(
    app, client, login, make_staff
):
    staff = make_staff("manager")
    login(client, staff)
    with db.job_session(app) as s:
        person = s.get(Staff, staff.id)
        assert person is not None
        deactivate_staff(s, person)
    with db.job_session(app) as s:
        s.execute(update(Staff).where(Staff.id == staff.id).values(active=True))
    assert client.get("/queue").status_code == 302


def test_a_sign_in_ends_after_its_lifetime(app, client, login, make_staff):
    """Counted from the sign-in, even when the cookie was signed afresh since (as a flashed
    message does), which restarts the cookie's own age."""
    login(client, make_staff("manager"))
    assert client.get("/queue").status_code == 200
    with client.session_transaction() as sess:
        sess["signed_in_at"] -= app.config["PERMANENT_SESSION_LIFETIME"] + 1
    assert client.get("/queue").status_code == 302


def test_a_session_id_without_the_version_is_refused(app, client, make_staff):
    staff = make_staff("manager")
    with client.session_transaction() as sess:
        sess["_user_id"] = str(staff.id)  # as signed before versions existed
        sess["signed_in_at"] = 1e12
    assert client.get("/queue").status_code == 302


def test_a_form_expires_after_the_csrf_limit(app, make_staff, csrf_token, monkeypatch):
    app.config["WTF_CSRF_ENABLED"] = True
    staff = make_staff("manager")
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    real = TimestampSigner.get_timestamp
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + limit + 1)
    resp = client.post(
        "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 400 and b"form expired" in resp.data


@pytest.mark.parametrize(
    ("base_url", "setting", "secure"),
    [
        ("http://localhost", True, False),
        ("http://127.0.0.1:5000", True, False),
        ("http://[::1]:5000", True, False),
        ("http://hub.example.com", True, True),
        ("https://hub.example.com", True, True),
        ("https://localhost", True, True),
        ("http://hub.example.com", False, False),
    ],
)
def test_the_session_cookie_is_secure_except_plain_http_to_loopback(
    app, make_staff, base_url, setting, secure
):
    app.config["SESSION_COOKIE_SECURE"] = setting
    resp = app.test_client().post(
        "/login", data={"email": make_staff().email, "password": PASSWORD}, base_url=base_url
    )
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("session=") and ("; Secure" in cookie) is secure


# --- strong passwords -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("password", "at least 12 characters"),
        ("password123", "at least 12 characters"),
        ("password1234", "very common password"),
        ("qwertyuiopas", "too easy to guess"),
        ("aaaaaaaaaaaa", "Repeats"),
        ("iloveyou2024", "too easy to guess"),
        ("x" * 201, "at most 200 characters"),
        ("correct-horse-battery-staple", None),
        ("xK9#mP2$vL7q", None),
    ],
)
def test_password_problems(password, problem):
    found = password_problem(password, "casey@example.test", "Casey Jones")
    assert (found is None) if problem is None else (problem in (found or ""))


def test_create_staff_refuses_a_weak_password_and_a_taken_email(session):
    with pytest.raises(UserError, match="at least 12"):
        create_staff(session, "a@example.test", "A", "employee", "password")
    create_staff(session, "a@example.test", "A", "employee", "a-fresh-long-passphrase")
    with pytest.raises(Conflict, match="already an account"):
        create_staff(session, " A@Example.TEST", "A", "employee", "another-long-passphrase")


@pytest.fixture
def cli(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    return lambda *args: CliRunner().invoke(hub.cli.main, list(args))


def test_create_user_explains_a_weak_password_and_a_duplicate(cli):
    new = ("create-user", "--email", "sam@example.test", "--name", "Sam", "--role", "employee")
    weak = cli(*new, "--password", "password")
    assert weak.exit_code == 1 and "Error: Passwords are at least 12 characters." in weak.output
    assert isinstance(weak.exception, SystemExit)  # a message, not a traceback
    assert cli(*new, "--password", "a-fresh-long-passphrase").exit_code == 0
    again = cli(*new, "--password", "a-fresh-long-passphrase")
    assert (
        again.exit_code == 1 and "There is already an account for sam@example.test" in again.output
    )


def test_set_password_checks_strength_and_ends_sessions(cli, client, login, make_staff):
    staff = make_staff("manager")
    login(client, staff)
    weak = cli("set-password", "--email", staff.email, "--password", "password1234")
    assert weak.exit_code == 1 and "too easy to guess" in weak.output
    unknown = cli("set-password", "--email", "nobody@example.test", "--password", "x" * 12)
    assert unknown.exit_code == 1 and "no account for nobody@example.test" in unknown.output
    assert client.get("/queue").status_code == 200
    ok = cli("set-password", "--email", staff.email, "--password", "a-fresh-long-passphrase")
    assert ok.exit_code == 0, ok.output
    assert client.get("/queue").status_code == 302
    assert _sign_in(client, staff.email, "a-fresh-long-passphrase").status_code == 302
