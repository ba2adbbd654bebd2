"""One unit of work per request: committed in one place on success, discarded on any error."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from flask import abort
from sqlalchemy import select

from hub import db
from hub.errors import Conflict, Forbidden, NotFound, UserError
from hub.models import Setting, utcnow

HUB = Path(__file__).resolve().parents[2] / "hub"
#: the request's unit of work and the job runner's sessions live here, and nowhere else commits
COMMIT_PLACES = {"db.py"}


def _calls(path: Path, names: set[str]) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    ]


def test_only_the_unit_of_work_commits_or_rolls_back():
    offenders = {
        str(path.relative_to(HUB)): lines
        for path in sorted(HUB.rglob("*.py"))
        if str(path.relative_to(HUB)) not in COMMIT_PLACES
        and (lines := _calls(path, {"commit", "rollback"}))
    }
    assert offenders == {}, f"commit()/rollback() outside hub/db.py: {offenders}"


def test_the_scan_sees_a_commit(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f(s):\n    s.add(1)\n    s.commit()\n")
    assert _calls(probe, {"commit"}) == [3]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UserError("fix the input"), 422),
        (UserError("bad day", status=400), 400),
        (Forbidden("not yours"), 403),
        (NotFound("gone"), 404),
        (Conflict("someone else was first"), 409),
    ],
)
def test_user_errors_carry_their_status(error, status):
    assert error.status == status
    assert error.errors == {"": error.message}


def _write(key: str) -> None:
    db.get_session().add(Setting(key=key, value=1, updated_by=None, updated_at=utcnow()))
    db.get_session().flush()


def _stored(app: Any, key: str) -> bool:
    with db.job_session(app) as session:
        return session.scalar(select(Setting.key).where(Setting.key == key)) is not None


@pytest.fixture
def probe_app(app):  # type: ignore[no-untyped-def]
    """The app with a few routes that write and then succeed or fail in different ways."""

    def ok() -> str:
        _write("probe.ok")
        return "done"

    def user_error() -> str:
        _write("probe.user")
        raise Conflict("Someone else changed it first.")

    def http_error() -> str:
        _write("probe.http")
        abort(404, "No such thing.")

    def crash() -> str:
        _write("probe.crash")
        raise RuntimeError("boom")

    def partial() -> str:
        _write("probe.before")
        try:
            with db.attempt():
                _write("probe.inside")
                raise UserError("This part is refused.")
        except UserError as exc:
            return exc.message

    for name, view in [
        ("ok", ok),
        ("user", user_error),
        ("http", http_error),
        ("crash", crash),
        ("partial", partial),
    ]:
        app.add_url_rule(f"/_probe/{name}", f"probe_{name}", view, methods=["POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_success_commits_once_the_view_returns(probe_app):
    resp = probe_app.test_client().post("/_probe/ok")
    assert resp.status_code == 200
    assert _stored(probe_app, "probe.ok")


@pytest.mark.parametrize(
    ("route", "key", "status", "words"),
    [
        ("user", "probe.user", 409, "Someone else changed it first."),
        ("http", "probe.http", 404, "No such thing."),
        ("crash", "probe.crash", 500, "Something went wrong on our side"),
    ],
)
def test_any_error_discards_the_request_work(probe_app, route, key, status, words):
    resp = probe_app.test_client().post(f"/_probe/{route}")
    assert resp.status_code == status
    assert words in resp.text
    assert not _stored(probe_app, key)


def test_an_attempt_undoes_only_its_own_writes(probe_app):
    resp = probe_app.test_client().post("/_probe/partial")
    assert resp.text == "This part is refused."
    assert _stored(probe_app, "probe.before")
    assert not _stored(probe_app, "probe.inside")
