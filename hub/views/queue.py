"""The community managers' queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..auth import role_required
from ..db import get_session
from ..models import MENTION_STATUSES, Staff, Team
from ..queue import QueueFilter, list_queue

bp = Blueprint("queue", __name__)
PLATFORMS = ("sandbox", "x", "bluesky")


def _filter_from(args: Any) -> QueueFilter:
    team = args.get("team", "")
    return QueueFilter(
        status=args.get("status", "active"),
        team_id=int(team) if team.isdigit() else None,
        platform=args.get("platform", "") if args.get("platform") in PLATFORMS else "",
        assignee=args.get("assignee", ""),
        after=args.get("after", ""),
    )


@bp.route("/queue")
@role_required("employee", "manager")
def index() -> Any:
    session = get_session()
    f = _filter_from(request.args)
    page = list_queue(session, f, current_user, current_app.config["QUEUE_PAGE_SIZE"])
    template = "queue/_rows.html" if request.headers.get("HX-Request") else "queue/index.html"
    return render_template(
        template,
        page=page,
        f=f,
        statuses=MENTION_STATUSES,
        platforms=PLATFORMS,
        teams=session.scalars(select(Team).order_by(Team.name)).all(),
        staff=session.scalars(
            select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)
        ).all(),
    )
