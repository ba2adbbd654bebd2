"""The one CSV writer of the hub: no cell a spreadsheet would run as a formula.

Report and audit-export CSVs hold text that customers and employees wrote. Excel, LibreOffice
and Google Sheets treat a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, after trimming,
a tab or carriage return) as a formula, so ``=HYPERLINK(...)`` in a post would become a live
link in the auditor's sheet (OWASP "CSV injection"). Every such text cell gets a leading
apostrophe, the mark spreadsheets read as "this is text".

The mark is reversible: a text that itself starts with an apostrophe gets one more, so a reader
gets every value back by dropping one leading apostrophe (:func:`restore_cell`). Numbers are
written as they are (``-3`` is a number, not a formula). Hand-written rather than the
``defusedcsv`` package because that one also rewrites ``|`` inside cells and ignores tab and
carriage return starts, so its output cannot be read back exactly.

``tests/hub/test_csv_writers.py`` fails when a module of hub/ imports ``csv`` itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

from flask import Response

#: starts a spreadsheet reads as a formula, and the apostrophe that marks a quoted cell
_QUOTE_START = ("=", "+", "-", "@", "\t", "\r", "'")


class _Writable(Protocol):
    def write(self, s: str, /) -> object: ...


def safe_cell(value: Any) -> Any:
    """A cell as written: text that could start a formula (or starts with ``'``) gets a ``'``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = "" if value is None else str(value)
        return "'" + text if text.startswith(_QUOTE_START) else text
    return value


def restore_cell(cell: str) -> str:
    """The value a cell written by this module stood for (drops the one quoting apostrophe)."""
    return cell[1:] if cell.startswith("'") else cell


class SafeWriter:
    """``csv.writer`` (Excel dialect, RFC 4180) whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(c) for c in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows."""
        for row in rows:
            self.writerow(row)


def download(body: str, filename: str) -> Response:
    """A CSV text as a download named ``filename`` (UTF-8)."""
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
