"""The UI's languages: English, Spanish and Simplified Chinese through Flask-Babel.

The language is the signed-in person's setting (``Staff.locale``), else the best match for the
browser's Accept-Language, else English. Templates use ``_()`` (Flask-Babel installs Jinja2's
i18n extension); Python code marks strings with ``_`` for text built during a request and
``lazy_gettext`` for text defined at import time (form labels, module constants).
Catalogues live in hub/translations/<locale>/LC_MESSAGES/messages.po (compiled to .mo).
"""

from __future__ import annotations

import os

from flask import Flask, has_request_context, request
from flask_babel import Babel, format_datetime, format_decimal, gettext, lazy_gettext, ngettext
from flask_login import current_user

__all__ = [
    "LANGUAGES",
    "_",
    "format_datetime",
    "format_decimal",
    "gettext",
    "init_app",
    "lazy_gettext",
    "ngettext",
    "select_locale",
]

#: locale code -> the language's own name, as offered in the person's settings
LANGUAGES = {"en": "English", "es": "Español", "zh": "中文（简体）"}

_ = gettext

TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")


def select_locale() -> str:
    """The person's own choice, else the browser's best match, else English."""
    if not has_request_context():
        return "en"
    if getattr(current_user, "is_authenticated", False):
        chosen = getattr(current_user, "locale", None)
        if chosen in LANGUAGES:
            return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default="en") or "en"


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the hub's catalogues and locale choice."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
