"""`hub deploy-files DIR`: the systemd units, nginx site and compose file ship with the package,
start exactly the documented shape (PostgreSQL, two web, two workers, nginx) and set only
settings the hub reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hub import config
from hub.cli import main
from hub.deploy import FILES, unit_command


def _settings_named(text: str) -> set[str]:
    return set(re.findall(r"\bHUB_([A-Z0-9_]+)\b", text))


def test_deploy_files_are_written_once_and_kept_unless_forced(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["deploy-files", str(tmp_path / "deploy")])
    assert first.exit_code == 0, first.output
    written = {p.name for p in (tmp_path / "deploy").iterdir()}
    assert written == set(FILES)
    unit = tmp_path / "deploy" / "hub-web.service"
    unit.write_text("edited by the operator")
    again = runner.invoke(main, ["deploy-files", str(tmp_path / "deploy")])
    assert again.exit_code == 1 and "--force" in again.output
    assert unit.read_text() == "edited by the operator"
    forced = runner.invoke(main, ["deploy-files", "--force", str(tmp_path / "deploy")])
    assert forced.exit_code == 0
    assert "hub serve" in unit.read_text()


def test_the_compose_file_starts_postgres_two_web_two_workers_and_nginx(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["deploy-files", str(tmp_path)])
    compose = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "init", "web", "worker", "nginx"}
    assert services["init"]["command"] == ["hub", "init"]
    assert services["web"]["command"][:2] == ["hub", "serve"]
    assert services["worker"]["command"] == ["hub", "worker"]
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["HUB_SANDBOX_ENABLED"] == "false" and env["HUB_TRUSTED_PROXIES"] == "1"
        # every hub process shares the instance folder: the generated keys must be the same
        assert "hub-instance:/var/lib/hub" in services[name]["volumes"]
        assert services[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_units_and_proxy_fit_together(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["deploy-files", str(tmp_path)])
    web = (tmp_path / "hub-web.service").read_text()
    worker = (tmp_path / "hub-worker@.service").read_text()
    nginx = (tmp_path / "nginx-hub.conf").read_text()
    assert re.search(r"^ExecStart=\S+/hub serve .*--port 8000$", web, re.M)
    assert re.search(r"^ExecStart=\S+/hub worker$", worker, re.M)
    assert "ExecReload=/bin/kill -HUP $MAINPID" in web
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/hub/hub.env" in unit
    assert "server 127.0.0.1:8000;" in nginx
    for header in ("Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert re.search(rf"proxy_set_header {header} \$", nginx), header
    assert "listen 443 ssl" in nginx and "Strict-Transport-Security" in nginx


def test_the_deploy_files_set_only_settings_the_hub_reads(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["deploy-files", str(tmp_path)])
    known = {s.name for s in config.declared()} | set(config.ENVIRONMENT_ONLY)
    for name in FILES:
        unknown = _settings_named((tmp_path / name).read_text()) - known
        assert unknown == set(), f"{name} names settings the hub does not read: {unknown}"


@pytest.mark.parametrize("unit", ["hub-web.service", "hub-worker@.service"])
def test_each_unit_runs_a_command_the_hub_has(unit: str) -> None:
    """The units' ExecStart lines are commands and options `hub` accepts (the PostgreSQL cluster
    test starts its processes from these same lines)."""
    done = CliRunner().invoke(main, [*unit_command(unit), "--help"])
    assert done.exit_code == 0, done.output
