"""Deployment files for running the hub for real, shipped inside the package so an installed hub
can write them out (``hub deploy-files DIR``): systemd units for N web processes and any number
of scheduler workers, an nginx site with TLS, and a compose file that starts the same thing. The
README's "Running it for real" explains each piece."""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

#: the files ``hub deploy-files`` writes, in the order it writes them
FILES = (
    "hub.env",
    "hub-web.service",
    "hub-worker@.service",
    "nginx-hub.conf",
    "compose.yaml",
    "nginx-compose.conf",
    "Dockerfile",
)


class DeployError(Exception):
    """The files cannot be written as asked; the message says why."""


def file_text(name: str) -> str:
    """One shipped deployment file's text."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def write_files(directory: Path, force: bool = False) -> list[Path]:
    """Write every file of ``FILES`` into ``directory`` (created if missing); an existing file is
    kept, and nothing written, unless ``force``."""
    targets = [directory / name for name in FILES]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise DeployError(f"not overwriting {', '.join(existing)} (use --force to replace them)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, target in zip(FILES, targets, strict=True):
            target.write_text(file_text(name), encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"cannot write into {directory}: {exc.strerror or exc}") from exc
    return targets


#: the executable the shipped units run (the Dockerfile and README install the hub there)
UNIT_HUB = "/opt/hub/venv/bin/hub"


def unit_command(unit: str) -> list[str]:
    """The ``hub`` arguments of a shipped unit's ExecStart line (``["serve", "--host", …]``), so
    the cluster test starts exactly what systemd would."""
    lines = [
        line.split("=", 1)[1]
        for line in file_text(unit).splitlines()
        if line.startswith("ExecStart=")
    ]
    if len(lines) != 1:
        raise DeployError(f"{unit}: expected one ExecStart line, found {len(lines)}")
    argv = shlex.split(lines[0])
    if argv[0] != UNIT_HUB:
        raise DeployError(f"{unit} runs {argv[0]}, not {UNIT_HUB}")
    return argv[1:]


def unit_environment() -> dict[str, str]:
    """hub.env's settings as systemd's EnvironmentFile reads them (KEY=VALUE, # comments)."""
    env = {}
    for line in file_text("hub.env").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env
