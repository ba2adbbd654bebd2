"""Every CSV the hub writes goes through hub.spreadsheet, which neutralises formula cells."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from hub.spreadsheet import SafeWriter, restore_cell, safe_cell

HUB = Path(__file__).resolve().parents[2] / "hub"
WRITER = HUB / "spreadsheet.py"


def _imports_csv(path: Path) -> list[int]:
    """Lines of ``path`` that import the csv module (any form)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(n == "csv" or n.startswith("csv.") for n in names):
            found.add(node.lineno)
    return sorted(found)


def test_only_hub_spreadsheet_writes_csv():
    """A new csv.writer elsewhere in hub/ would skip the formula guard: write through
    hub.spreadsheet.SafeWriter instead."""
    assert _imports_csv(WRITER), "hub/spreadsheet.py no longer uses csv: update this test"
    offenders = [
        f"{path.relative_to(HUB.parent)}:{line}"
        for path in sorted(HUB.rglob("*.py"))
        if path != WRITER
        for line in _imports_csv(path)
    ]
    assert offenders == [], f"import csv outside hub/spreadsheet.py: {offenders}"


def test_the_scan_sees_every_way_of_importing_csv(tmp_path):
    probe = tmp_path / "probe.py"
    for source in ("import csv", "import csv as c", "from csv import writer", "import os, csv"):
        probe.write_text(f"def f():\n    {source}\n")
        assert _imports_csv(probe) == [2], source
    probe.write_text("import csvkit_like\nfrom hub import spreadsheet\n")
    assert _imports_csv(probe) == []


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+1 call now", "'+1 call now"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("'quoted already", "''quoted already"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-3, -3),  # a number is written as a number
        (2.5, 2.5),
        (True, "True"),
    ],
)
def test_safe_cell(value, written):
    assert safe_cell(value) == written
    if isinstance(written, str):
        assert restore_cell(written) == ("" if value is None else str(value))


def test_safe_writer_quotes_every_cell_of_every_row():
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["=h", "ok"])
    writer.writerows([["-1", 7], ["@x", "\ty"]])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows == [["'=h", "ok"], ["'-1", "7"], ["'@x", "'\ty"]]
