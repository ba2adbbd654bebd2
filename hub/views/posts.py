"""Placeholder blueprint (being built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import role_required

bp = Blueprint("posts", __name__, url_prefix="/posts")


@bp.route("/")
@role_required("employee", "manager")
def mine() -> Any:
    return "coming soon"
