"""Platform credentials at rest: Fernet (AES-128-CBC + HMAC) with a key from config."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask


class SecretBox:
    """Encrypts and decrypts small JSON documents (credentials, sessions)."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode() if isinstance(key, str) else key)

    def seal(self, value: dict[str, Any] | None) -> bytes | None:
        """Encrypt a dict; None stays None."""
        if value is None:
            return None
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode())

    def open(self, token: bytes | None) -> dict[str, Any]:
        """Decrypt what ``seal`` produced; a wrong key raises ValueError with a plain message."""
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))  # type: ignore[no-any-return]
        except InvalidToken as exc:
            raise ValueError(
                "stored credentials cannot be decrypted: HUB_ENCRYPTION_KEY changed?"
            ) from exc


def new_key() -> str:
    """A fresh Fernet key as text."""
    return Fernet.generate_key().decode()


def secret_box(app: Flask) -> SecretBox:
    """The app's SecretBox (key from HUB_ENCRYPTION_KEY or the instance folder)."""
    return app.extensions["hub.secretbox"]  # type: ignore[no-any-return]
