"""`hub create-user` and `hub demo` from the command line: clear one-line messages and a
non-zero exit for every refusal, never a traceback; the demo's state read from the database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from hub.db import job_session
from hub.models import AuditEvent, Staff, Team

STRONG = "violet-harbour-kettle-93"


@pytest.fixture
def cli_env(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment for `hub ...` on the test's database and instance folder; the apps the
    commands build are closed afterwards (a `hub` process would simply exit)."""
    import hub.cli

    built: list[Any] = []
    real = hub.cli._app
    monkeypatch.setattr(hub.cli, "_app", lambda: built.append(real()) or built[-1])
    yield {
        "HUB_DATABASE_URL": app.config["DATABASE_URL"],
        "HUB_SANDBOX_URL": app.config["SANDBOX_URL"],
        "HUB_INSTANCE_PATH": str(tmp_path),
        "HUB_SECRET_KEY": "cli-test",
        "HUB_ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
    }
    for cli_app in built:
        cli_app.extensions["hub.engine"].dispose()


def _run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env=env)


def _create(env: dict[str, str], *extra: str, password: str = STRONG) -> Any:
    return _run(
        env,
        "create-user",
        "--email",
        "ana@example.test",
        "--name",
        "Ana",
        "--role",
        "employee",
        "--password",
        password,
        *extra,
    )


def _refused(result: Any, message: str) -> None:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) <= 3


def test_create_user_adds_the_person(app, cli_env):
    with job_session(app) as s:
        s.add(Team(slug="es", name="Spanish"))
    result = _create(cli_env, "--team", "es", "--languages", "es,en")
    assert result.exit_code == 0, result.output
    with job_session(app) as s:
        ana = s.scalar(select(Staff).where(Staff.email == "ana@example.test"))
        assert ana is not None and ana.languages == ["es", "en"] and ana.team is not None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "at least 12 characters"),
        ("password", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("ana@example.test", "too easy to guess"),
    ],
)
def test_create_user_refuses_a_weak_password(app, cli_env, password, message):
    _refused(_create(cli_env, password=password), message)
    with job_session(app) as s:
        assert s.scalar(select(Staff.id)) is None


def test_create_user_refuses_a_second_account_for_an_email(app, cli_env, make_staff):
    make_staff("employee", email="ana@example.test")
    result = _create(cli_env)
    _refused(result, "There is already an account for ana@example.test.")
    assert "$argon2" not in result.output


def test_create_user_refuses_an_unknown_team(app, cli_env):
    _refused(_create(cli_env, "--team", "nowhere"), "There is no team 'nowhere'")


def test_create_user_refuses_a_bad_language_code(app, cli_env):
    _refused(_create(cli_env, "--languages", "english"), "two-letter ISO 639-1 codes")


def test_create_user_refuses_an_unknown_role(app, cli_env):
    result = _run(cli_env, "create-user", "--email", "a@x.test", "--name", "A", "--role", "owner")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'owner' is not one of" in result.output


def test_a_real_hub_process_refuses_a_duplicate_without_a_traceback(app, cli_env, make_staff):
    make_staff("employee", email="ana@example.test")
    args = ["--email", "ana@example.test", "--name", "Ana", "--role", "employee"]
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "create-user", *args, "--password", STRONG],
        env={**cli_env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: There is already an account for ana@example.test."
    assert "Traceback" not in done.stdout + done.stderr


# -- hub demo --------------------------------------------------------------------------------


def _demo_passwords(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines() if "password:" in line]
    return {row[1]: row[-1] for row in rows}


def test_demo_loads_into_a_new_database_despite_an_old_instance_folder(app, cli_env, tmp_path):
    stale = "admin\tadmin@kestrel.example\tstale-password-from-another-db"
    (tmp_path / "demo-accounts.txt").write_text(stale)
    first = _run(cli_env, "demo")
    assert first.exit_code == 0, first.output
    printed = _demo_passwords(first.output)
    assert len(printed) == 4 and "stale-password-from-another-db" not in first.output
    with job_session(app) as s:
        assert len(s.scalars(select(Staff)).all()) == 4
    # a second run loads nothing more and prints the passwords that still sign in
    second = _run(cli_env, "demo")
    assert "already in this database" in second.output
    assert _demo_passwords(second.output) == printed
    with job_session(app) as s:
        assert len(s.scalars(select(Staff)).all()) == 4
    # a password changed since is not printed any more
    email = next(iter(printed))
    assert _run(cli_env, "set-password", "--email", email, "--password", STRONG).exit_code == 0
    third = _demo_passwords(_run(cli_env, "demo").output)
    assert email not in third and len(third) == 3
    with job_session(app) as s:
        audited = s.scalar(select(AuditEvent).where(AuditEvent.action == "staff.password_set"))
        assert audited is not None and audited.data == {"via": "cli"}


def test_demo_never_prints_passwords_of_accounts_this_database_lacks(app, cli_env, tmp_path):
    assert _run(cli_env, "demo").exit_code == 0
    (tmp_path / "demo-accounts.txt").write_text(
        "admin\tnobody@kestrel.example\tghost-password-12345"
    )
    again = _run(cli_env, "demo")
    assert again.exit_code == 0
    assert "ghost-password" not in again.output and "nobody@" not in again.output
    assert "hub set-password" in again.output
