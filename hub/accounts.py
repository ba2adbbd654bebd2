"""The company's platform accounts: credentials sealed at rest, connectors built on demand."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

import connectors.sandbox  # noqa: F401  (registers the sandbox platform)
from connectors.base import REGISTRY, Connector

from .crypto import SecretBox
from .db import job_session
from .models import PlatformAccount

_lock = threading.Lock()
log = logging.getLogger(__name__)


def _optional_platforms() -> None:
    # X and Bluesky pull in their SDKs; import them lazily so a failure there cannot stop
    # the sandbox or the web app from starting.
    for name in ("connectors.x", "connectors.bluesky"):
        try:
            __import__(name)
        except ImportError as exc:
            log.warning("platform connector %s unavailable: %s", name, exc)


def secret_box(app: Flask) -> SecretBox:
    """The app's SecretBox (key from HUB_ENCRYPTION_KEY or the instance folder)."""
    return app.extensions["hub.secretbox"]  # type: ignore[no-any-return]


def create_account(
    session: Session,
    app: Flask,
    platform: str,
    handle: str,
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> PlatformAccount:
    """Add an account; secrets are encrypted before they touch the database."""
    _optional_platforms()
    if platform not in REGISTRY:
        raise ValueError(f"unknown platform {platform!r}")
    account = PlatformAccount(
        platform=platform,
        handle=handle,
        config=config or {},
        secrets_encrypted=secret_box(app).seal(secrets or {}),
    )
    session.add(account)
    session.flush()
    return account


def _fingerprint(account: PlatformAccount) -> str:
    h = hashlib.sha256(json.dumps(account.config, sort_keys=True).encode())
    h.update(account.secrets_encrypted or b"")
    return h.hexdigest()


def connector_for(app: Flask, account: PlatformAccount) -> Connector:
    """The connector for an account, cached while its settings and credentials are unchanged."""
    cache: dict[int, tuple[str, Connector]] = app.extensions.setdefault("hub.connectors", {})
    fp = _fingerprint(account)
    with _lock:
        hit = cache.get(account.id)
        if hit and hit[0] == fp:
            return hit[1]
        _optional_platforms()
        box = secret_box(app)
        config = dict(account.config)
        if account.platform == "sandbox":
            config.setdefault("store_url", app.config["SANDBOX_URL"])
        account_id = account.id

        def save_state(state: dict[str, Any]) -> None:
            with job_session(app) as session:
                row = session.get(PlatformAccount, account_id)
                if row is not None:
                    row.state_encrypted = box.seal(state)

        connector = REGISTRY[account.platform](
            config,
            box.open(account.secrets_encrypted),
            box.open(account.state_encrypted) or None,
            save_state,
        )
        cache[account.id] = (fp, connector)
        return connector
