"""The UI's languages: English, Spanish and Simplified Chinese through Flask-Babel.

The language is the signed-in person's setting (``Staff.locale``), else the best match for the
browser's Accept-Language, else English. Templates use ``_()`` (Flask-Babel installs Jinja2's
i18n extension); Python code marks strings with ``_`` for text built during a request and
``lazy_gettext`` for text defined at import time (form labels, module constants).
Catalogues live in hub/translations/<locale>/LC_MESSAGES/messages.po (compiled to .mo);
``make translations`` extracts, updates and compiles them.

The policy pack is data, so its guideline messages and "Try:" suggestions reach the catalogue
through :func:`extract_pack` (a Babel extraction method named in babel.cfg) and are translated
when shown (:func:`pack_text`): the engine's decisions and the pack's hash never change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import yaml
from babel.dates import format_skeleton
from flask import Flask, g, has_request_context, request
from flask_babel import (
    Babel,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_timedelta,
    get_locale,
    get_translations,
    gettext,
    lazy_gettext,
    ngettext,
)
from flask_login import current_user

import policies

__all__ = [
    "LANGUAGES",
    "_",
    "current_language",
    "extract_pack",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_percent",
    "format_timedelta",
    "gettext",
    "init_app",
    "label",
    "lazy_gettext",
    "ngettext",
    "pack_text",
    "pack_texts",
    "select_locale",
    "when",
]

#: locale code -> the language's own name, as offered in the person's settings
LANGUAGES = {"en": "English", "es": "Español", "zh": "中文（简体）"}

_ = gettext

TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")

#: Words the UI shows for stored codes (states, verdicts, kinds, actions). English equals the
#: code, so pages read the same as before for English readers.
LABELS: dict[str, Any] = {
    # mention statuses
    "new": lazy_gettext("new"),
    "open": lazy_gettext("open"),
    "pending": lazy_gettext("pending"),
    "escalated": lazy_gettext("escalated"),
    "closed": lazy_gettext("closed"),
    # verdicts and severities
    "allow": lazy_gettext("allow"),
    "warn": lazy_gettext("warn"),
    "review": lazy_gettext("review"),
    "block": lazy_gettext("block"),
    # outbound states
    "draft": lazy_gettext("draft"),
    "checked": lazy_gettext("checked"),
    "in_review": lazy_gettext("in_review"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
    "scheduled": lazy_gettext("scheduled"),
    "sending": lazy_gettext("sending"),
    "sent": lazy_gettext("sent"),
    "failed": lazy_gettext("failed"),
    "withdrawn": lazy_gettext("withdrawn"),
    # pack version states
    "active": lazy_gettext("active"),
    "retired": lazy_gettext("retired"),
    # outbound kinds
    "post": lazy_gettext("post"),
    "reply": lazy_gettext("reply"),
    # a mention's history on its conversation page
    "mention.received": lazy_gettext("received"),
    "mention.claimed": lazy_gettext("claimed"),
    "mention.assigned": lazy_gettext("assigned"),
    "mention.moved": lazy_gettext("moved"),
    "mention.tagged": lazy_gettext("tagged"),
    # review actions
    "approve": lazy_gettext("approve"),
    "reject": lazy_gettext("reject"),
    "edit": lazy_gettext("edit"),
}


def label(code: object) -> str:
    """The reader's word for a stored code; an unknown code is shown as it is."""
    if code is None:
        return ""
    word = LABELS.get(str(code))
    return str(word) if word is not None else str(code)


def select_locale() -> str:
    """The person's own choice, else the browser's best match, else English."""
    if not has_request_context():
        return "en"
    if getattr(current_user, "is_authenticated", False):
        chosen = getattr(current_user, "locale", None)
        if chosen in LANGUAGES:
            return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default="en") or "en"


def current_language() -> str:
    """The page's language code for ``<html lang>`` (``zh-Hans`` for Simplified Chinese)."""
    code = str(get_locale() or "en")
    return "zh-Hans" if code.startswith("zh") else code


def when(
    value: datetime | date | None, *, year: bool = False, seconds: bool = False, time: bool = True
) -> str:
    """A UTC date-time in the reader's locale, compact: ``Dec 5 01:18``, ``5 dic 1:18``,
    ``12月5日 01:18`` (``year`` adds the year, ``time=False`` leaves the date alone)."""
    if value is None:
        return ""
    locale = get_locale() or "en"
    day = format_skeleton("yMMMd" if year else "MMMd", value, tzinfo=None, locale=locale)
    if not time or not isinstance(value, datetime):
        return day
    clock = format_skeleton("Hms" if seconds else "Hm", value, tzinfo=None, locale=locale)
    return f"{day} {clock}"


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt)


def _percent(value: Any) -> str:
    return "" if value is None else format_percent(value, format="#,##0%")


# ---------------------------------------------------------------------------------------------
# The policy pack's messages


_MESSAGE_KEY = re.compile(r"message|suggestion")
#: pack words that messages quote: the language rule's names ("The customer wrote in Spanish")
_QUOTED_WORDS = "language_names"
_PLACEHOLDER = re.compile(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}")


def _pack_nodes(node: yaml.Node, parent: str = "") -> Iterator[tuple[int, str]]:
    """(line, text) of every message, suggestion and quoted word in a composed pack document."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            if isinstance(value, yaml.ScalarNode):
                if (
                    _MESSAGE_KEY.search(name)
                    or _MESSAGE_KEY.search(parent)
                    or parent == _QUOTED_WORDS
                ):
                    yield value.start_mark.line + 1, str(value.value)
            else:
                yield from _pack_nodes(value, name)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _pack_nodes(item, parent)


def pack_texts(source: str) -> list[tuple[int, str]]:
    """Every guideline message and suggestion of a pack's YAML, with its line."""
    node = yaml.compose(source, Loader=yaml.SafeLoader)
    return list(_pack_nodes(node)) if node is not None else []


def extract_pack(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method: a pack file's messages and suggestions become msgids."""
    for line, text in pack_texts(fileobj.read().decode("utf-8")):
        yield (
            line,
            "gettext",
            _escaped(text),
            ["policy pack message: keep {placeholders} as they are"],
        )


def _escaped(text: str) -> str:
    """A pack text as its msgid: ``%`` doubled, so Babel's python-format checks hold for
    messages like "30% off" (pack texts are never %-formatted; :func:`_gettext_pack` undoes it)."""
    return text.replace("%", "%%")


def _gettext_pack(text: str) -> str | None:
    """The catalogue's translation of a pack text, or None when it has none."""
    key = _escaped(text)
    translated = gettext(key)
    return None if translated == key else translated.replace("%%", "%")


@lru_cache(maxsize=1)
def _shipped_templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each shipped message with a pattern that matches it filled in (a group per placeholder)."""
    out: list[tuple[re.Pattern[str], str]] = []
    seen: set[str] = set()
    for _line, text in pack_texts(Path(policies.DEFAULT_PACK).read_text(encoding="utf-8")):
        if text in seen or "{" not in text:
            continue
        seen.add(text)
        parts: list[str] = []
        pos = 0
        for i, m in enumerate(_PLACEHOLDER.finditer(text)):
            parts.append(re.escape(text[pos : m.start()]))
            parts.append(f"(?P<p{i}>.*?)")
            pos = m.end()
        parts.append(re.escape(text[pos:]))
        out.append((re.compile("".join(parts), re.DOTALL), text))
    return tuple(out)


def pack_text(text: str | None) -> str:
    """A pack message or suggestion as the engine filled it, in the reader's language.

    The engine stores messages filled in (``'{match}'`` replaced by the draft's words), so the
    shipped template is found by matching, translated, and filled with the same words. A text
    no shipped template explains (an admin-edited message) is shown as it is.
    """
    if not text:
        return text or ""
    translated = _gettext_pack(text)
    if translated is not None or "{" in text:
        return translated or text
    for pattern, template in _shipped_templates():
        m = pattern.fullmatch(text)
        if m is None:
            continue
        target = _gettext_pack(template)
        return text if target is None else _refill(target, template, m)
    return text


@lru_cache(maxsize=1)
def _quoted_words() -> frozenset[str]:
    """The shipped pack's words that messages quote and the catalogue translates."""
    spec = yaml.safe_load(Path(policies.DEFAULT_PACK).read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == _QUOTED_WORDS and isinstance(value, dict):
                    found.update(str(v) for v in value.values())
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return frozenset(found)


def _refill(target: str, template: str, m: re.Match[str]) -> str:
    """``target`` with each placeholder replaced by the words the engine put in ``template``'s
    (a quoted pack word, such as a language's name, in the reader's language too)."""
    values = {}
    for i, ph in enumerate(_PLACEHOLDER.finditer(template)):
        value = m.group(f"p{i}")
        if value in _quoted_words():
            value = _gettext_pack(value) or value
        values[ph.group(0)] = value
    return _PLACEHOLDER.sub(lambda ph: values.get(ph.group(0), ph.group(0)), target)


def _page_translations() -> Any:
    """The catalogue of the locale in force, kept on ``g`` for the rest of the request.

    Flask-Babel finds it again for every string (six context lookups and the locale
    selector's checks); a queue page asks 250 times, a fifth of its rendering. The cached
    one is used only while Flask-Babel's locale object is the same one, so ``force_locale``
    and ``refresh`` (which replace or drop it) are followed.
    """
    if not g:
        return get_translations()
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    cached = g.get("_hub_translations")
    if cached is not None and locale is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    state = g.get("_flask_babel")
    g._hub_translations = (getattr(state, "babel_locale", None), translations)
    return translations


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the hub's catalogues, locale choice and template helpers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _page_translations().ugettext(s),
        ngettext=lambda s, p, n: _page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters.update(
        label=label, when=when, num=_number, percent=_percent, pack_text=pack_text
    )
    app.jinja_env.globals.update(current_language=current_language, LANGUAGES=LANGUAGES)
