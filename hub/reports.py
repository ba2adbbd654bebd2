"""Policy reports (being built)."""

from __future__ import annotations

from flask import Flask


def run_daily_summary(app: Flask) -> None:
    """Store yesterday's summary (the scheduler runs this every day at 00:05 UTC)."""
