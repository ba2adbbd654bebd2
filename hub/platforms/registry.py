"""Which platforms the hub speaks, and the connector for each account.

The connector modules named by the ``PLATFORMS`` setting are imported once per process, when an
app is created (``init_app``); each registers its class in ``connectors.base.REGISTRY``. A module
that fails to import (an optional SDK missing or broken) is logged and skipped: the other
platforms and the web app still start. This wing names no platform: a fourth one is a new
connector module added to ``PLATFORMS``, and the hub settings it takes are declared by the
connector itself (``Connector.host_settings``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

from flask import Flask

from connectors.base import REGISTRY, Connector, StreamingConnector
from connectors.outbound import ALLOW_LOCAL_NETWORK
from hub.crypto import secret_box
from hub.db import job_session
from hub.models import PlatformAccount

log = logging.getLogger(__name__)

#: guards the loading of connector modules
_load_lock = threading.Lock()
#: guards the connector caches of every app
_cache_lock = threading.Lock()
#: connector modules this process imported from PLATFORMS
_loaded: set[str] = set()
#: connector modules already tried, imported or not (a failure is logged once, not per app)
_tried: set[str] = set()


def load_platforms(modules: Iterable[str]) -> None:
    """Import each connector module once; one that fails is logged and skipped."""
    with _load_lock:
        for name in modules:
            if name in _tried:
                continue
            _tried.add(name)
            try:
                importlib.import_module(name)
            except Exception as exc:  # any SDK failure, not only ImportError, must not stop the hub
                log.warning("platform connector %s unavailable: %s", name, exc)
            else:
                _loaded.add(name)


def init_app(app: Flask) -> None:
    """Load the connectors the app's ``PLATFORMS`` setting names."""
    load_platforms(app.config["PLATFORMS"])


def _from_loaded_module(cls: type[Connector]) -> bool:
    module = cls.__module__
    return any(module == name or module.startswith(name + ".") for name in _loaded)


def platforms() -> dict[str, type[Connector]]:
    """Every platform a loaded connector module registered, by name."""
    with _load_lock:  # an import in another thread may be adding to both
        return {name: cls for name, cls in REGISTRY.items() if _from_loaded_module(cls)}


def connector_class(platform: str) -> type[Connector]:
    """The connector class of a loaded platform; KeyError if there is none."""
    cls = platforms().get(platform)
    if cls is None:
        raise KeyError(f"unknown platform {platform!r}")
    return cls


def supports_streaming(platform: str) -> bool:
    """Whether the platform's connector can push mentions (``StreamingConnector``)."""
    cls = platforms().get(platform)
    return cls is not None and issubclass(cls, StreamingConnector)


# --- one connector per account, cached -----------------------------------------------------------


def _fingerprint(account: PlatformAccount) -> str:
    h = hashlib.sha256(json.dumps(account.config, sort_keys=True).encode())
    h.update(account.secrets_encrypted or b"")
    return h.hexdigest()


def connector_for(app: Flask, account: PlatformAccount) -> Connector:
    """The connector for an account, cached while its settings and credentials are unchanged."""
    cache: dict[int, tuple[str, Connector]] = app.extensions.setdefault("hub.connectors", {})
    fp = _fingerprint(account)
    with _cache_lock:
        hit = cache.get(account.id)
        if hit and hit[0] == fp:
            return hit[1]
        cls = connector_class(account.platform)
        box = secret_box(app)
        config = dict(account.config)
        for key, setting in cls.host_settings.items():
            if setting in app.config:
                config.setdefault(key, app.config[setting])
        # the hub's setting, never the account's: an account's config can't allow itself
        config[ALLOW_LOCAL_NETWORK] = bool(app.config["ALLOW_LOCAL_PLATFORMS"])
        account_id = account.id

        def save_state(state: dict[str, Any]) -> None:
            with job_session(app) as session:
                row = session.get(PlatformAccount, account_id)
                if row is not None:
                    row.state_encrypted = box.seal(state)

        connector = cls(
            config,
            box.open(account.secrets_encrypted),
            box.open(account.state_encrypted) or None,
            save_state,
        )
        cache[account.id] = (fp, connector)
        return connector


def release_connector(app: Flask, account_id: int, connector: Connector) -> None:
    """Close a connector its user is done with, unless ``connector_for`` still hands it out.

    A long-lived user (a stream) may outlive its connector in the cache: new settings or
    credentials make ``connector_for`` build another, and nobody else would close this one.
    """
    cache: dict[int, tuple[str, Connector]] = app.extensions.setdefault("hub.connectors", {})
    with _cache_lock:
        hit = cache.get(account_id)
        replaced = hit is None or hit[1] is not connector
    if replaced:
        connector.close()
