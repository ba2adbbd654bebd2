"""bench/results.json: every benchmark's latest figures, one entry per benchmark.

Each bench calls ``record(name, figures)`` with plain JSON values (its ratio against the baseline
it measured in the same run among them). Entries of other benchmarks are kept, so a single bench
can be rerun alone; the file is rewritten atomically so an interrupted run leaves the old one.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "results.json"


def record(name: str, figures: dict[str, Any], path: Path = PATH) -> None:
    """Store ``figures`` under ``name`` with when and where they were measured."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    data[name] = {
        **figures,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
