"""Row ids arriving from outside (URLs, forms, query strings), checked before any query.

A number the database cannot hold must not reach it: SQLite raises ``OverflowError`` and
PostgreSQL "integer out of range", both a 500. Routes take ids through the ``id`` and ``bigid``
URL converters (registered by :func:`init_app`), so ``/review/99999999999999999999`` matches no
rule and is a plain 404. Forms and query strings go through :func:`parse_id`.

The bounds are the column types' (hub/models.py): ``Integer`` keys are 32-bit on PostgreSQL,
``BigInteger`` keys (mentions, audit events) 64-bit.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map

from hub.i18n import _

#: the largest value of PostgreSQL's ``integer`` (the hub's ``Integer`` primary keys)
MAX_ID = 2**31 - 1
#: the largest value of ``bigint`` (the ``BigInteger`` keys: mentions, audit events)
MAX_BIG_ID = 2**63 - 1
#: ASCII digits only: str.isdigit() also accepts "²" and "١", which int() refuses or reads
_DIGITS = re.compile(r"[0-9]{1,19}")


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id of an ``Integer`` key, 1 to 2**31 - 1; anything else is a 404."""

    regex = r"[0-9]+"
    max_id = MAX_ID

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=self.max_id)

    def to_python(self, value: str) -> int:
        # Out of range is a 404 right here rather than the usual ValidationError ("this rule does
        # not match"): werkzeug checks a rule's method before its converters, so when the same
        # path also has a GET rule, a POST with a too-large id would come back as a 405.
        ident = parse_id(value, big=self.max_id == MAX_BIG_ID)
        if ident is None:
            raise NotFound(_("There is no such item (that is not an id this hub gives out)."))
        return ident


class BigIdConverter(IdConverter):
    """``<bigid:name>``: a row id of a ``BigInteger`` key, 1 to 2**63 - 1."""

    max_id = MAX_BIG_ID


def parse_id(raw: str | None, *, big: bool = False) -> int | None:
    """The id in a form or query value, or None when it is empty or no id the database holds."""
    text = (raw or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= (MAX_BIG_ID if big else MAX_ID) else None


def init_app(app: Flask) -> None:
    """Register the id converters; call before any blueprint is registered."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter
