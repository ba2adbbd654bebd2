"""Default settings. Override in instance/config.py or with HUB_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def defaults(instance_path: str) -> dict[str, object]:
    """Settings every hub starts from; the instance folder holds the SQLite files."""
    inst = Path(instance_path)
    return {
        #: SQLAlchemy URL; SQLite in the instance folder unless HUB_DATABASE_URL says otherwise
        "DATABASE_URL": f"sqlite:///{inst / 'hub.db'}",
        #: the sandbox platform's own store (it is a separate "platform", so a separate database)
        "SANDBOX_URL": f"sqlite:///{inst / 'sandbox.db'}",
        #: Flask session signing key; generated into the instance folder on first start
        "SECRET_KEY": None,
        #: Fernet key for platform credentials at rest; generated next to SECRET_KEY if unset
        "ENCRYPTION_KEY": None,
        #: connector modules to load, one per platform; each registers its platform when imported.
        #: A module that fails to import (a missing SDK) is logged and skipped. A new platform is
        #: a new module named here (see connectors/base.py).
        "PLATFORMS": ["connectors.sandbox", "connectors.x", "connectors.bluesky"],
        "POLL_SECONDS": 15,
        "SEND_SECONDS": 5,
        #: seconds between the demo's scripted customer posts on the sandbox; 0 = no trickle
        "DEMO_TRICKLE_SECONDS": 0,
        "QUEUE_PAGE_SIZE": 25,
        "DEFAULT_SLA_MINUTES": 120,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }


def load_or_create_key(instance_path: str, name: str, make) -> str:  # type: ignore[no-untyped-def]
    """Read a key file from the instance folder, creating it (0600) the first time."""
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
