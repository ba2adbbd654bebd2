"""Settings: declared where they are used, one tuple per wing, collected here.

Each setting is ``(NAME, default, what it does)``; set it in ``instance/config.py`` or as the
environment variable ``HUB_NAME``. A default may name ``{instance}``, the instance folder.
``tests/hub/test_settings_documented.py`` fails when a declared setting is missing from the
README's configuration table, or when hub/ reads a setting nobody declared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.compliance.config import SETTINGS as COMPLIANCE
from hub.engagement.config import SETTINGS as ENGAGEMENT
from hub.people.config import SETTINGS as PEOPLE
from hub.platforms.config import SETTINGS as PLATFORMS
from hub.publishing.config import SETTINGS as PUBLISHING
from hub.webhooks.config import SETTINGS as WEBHOOKS

#: the hub's own settings, shared by every wing
CORE: tuple[tuple[str, Any, str], ...] = (
    (
        "DATABASE_URL",
        "sqlite:///{instance}/hub.db",
        "SQLAlchemy URL; PostgreSQL when several workers or machines share the hub",
    ),
    ("SECRET_KEY", None, "signs sessions and CSRF tokens; generated into the instance folder"),
    (
        "ENCRYPTION_KEY",
        None,
        "Fernet key for platform credentials at rest; generated into the instance folder",
    ),
    (
        "MAX_CONTENT_LENGTH",
        2 * 1024 * 1024,
        "the largest request body in bytes; a larger one is refused with a 413 page",
    ),
    (
        "SERVER_WORKERS",
        0,
        "`hub serve`/`hub run`: web processes (gunicorn workers); 0 = one per CPU, at most 8",
    ),
    ("SERVER_THREADS", 8, "`hub serve`/`hub run`: threads that run requests in each web process"),
    (
        "SERVER_CONNECTION_LIMIT",
        500,
        "`hub serve`/`hub run`: open connections per web process at most; more wait in the "
        "listen backlog",
    ),
    (
        "SERVER_CHANNEL_TIMEOUT",
        30,
        "`hub serve`/`hub run`: seconds a client may stay silent in the middle of a request "
        "(a half-sent one) before its connection is closed",
    ),
    (
        "PERMANENT_SESSION_LIFETIME",
        43200,
        "seconds a sign-in lasts (12 hours); signing out, a new password or deactivation end "
        "it sooner, on every device",
    ),
    (
        "WTF_CSRF_TIME_LIMIT",
        14400,
        "seconds a form stays valid after its page was shown (4 hours)",
    ),
    (
        "SESSION_COOKIE_SECURE",
        True,
        "session cookie only over HTTPS, except plain HTTP to a loopback host (make run); "
        "behind a proxy, pass the public Host header on",
    ),
    (
        "LOGIN_FAILURES_PER_ACCOUNT",
        10,
        "failed sign-ins for one e-mail within LOGIN_FAILURE_WINDOW before it is refused (429)",
    ),
    (
        "LOGIN_FAILURES_PER_ADDRESS",
        50,
        "failed sign-ins from one client address within LOGIN_FAILURE_WINDOW before it is "
        "refused (429)",
    ),
    (
        "LOGIN_FAILURE_WINDOW",
        900,
        "seconds from an account's or address's first failed sign-in over which failures count",
    ),
    (
        "TRUSTED_PROXIES",
        0,
        "reverse proxies in front of the hub whose X-Forwarded-For/-Proto/-Host are believed "
        "(0: none; the client address is the socket's)",
    ),
    (
        "METRICS_TOKEN",
        None,
        "when set, /metrics answers only `Authorization: Bearer <this token>` (else a 404)",
    ),
    (
        "METRICS_ALLOW",
        ("127.0.0.1/32", "::1/128"),
        "networks /metrics answers without a token when METRICS_TOKEN is not set (a list, or "
        "comma-separated text); others get a 404",
    ),
    (
        "DEMO_TRICKLE_SECONDS",
        0,
        "seconds between the demo's scripted customer posts on the sandbox; 0 = none",
    ),
)
#: read from the environment before any setting exists (where the instance folder is)
ENVIRONMENT_ONLY = ("INSTANCE_PATH",)
#: Flask's and its extensions' own settings, with the values the hub wants
FRAMEWORK: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}


@dataclass(frozen=True)
class Setting:
    """One declared setting."""

    name: str
    default: Any
    doc: str
    #: the wing that declares it ("core" for the hub's own)
    wing: str


def declared() -> list[Setting]:
    """Every setting the hub reads, with the wing that declares it."""
    return [
        Setting(name, default, doc, wing)
        for wing, settings in (
            ("core", CORE),
            ("engagement", ENGAGEMENT),
            ("publishing", PUBLISHING),
            ("platforms", PLATFORMS),
            ("compliance", COMPLIANCE),
            ("people", PEOPLE),
            ("webhooks", WEBHOOKS),
        )
        for name, default, doc in settings
    ]


def defaults(instance_path: str) -> dict[str, object]:
    """Settings every hub starts from; the instance folder holds the SQLite files."""
    instance = str(Path(instance_path))
    values: dict[str, object] = dict(FRAMEWORK)
    for s in declared():
        default = s.default
        if isinstance(default, str):
            default = default.replace("{instance}", instance)
        values[s.name] = list(default) if isinstance(default, tuple) else default
    return values


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
