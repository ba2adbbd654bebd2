"""Placeholder blueprint (being built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import role_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    return "coming soon"
