"""Placeholder blueprint (being built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import role_required

bp = Blueprint("policy_admin", __name__, url_prefix="/policy")


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    return "coming soon"
