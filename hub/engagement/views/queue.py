"""The community managers' queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from hub.auth import role_required
from hub.db import get_session
from hub.engagement.present import due_views, platform_names, queue_choices
from hub.engagement.queue import SCOPES, QueueFilter, default_scope, list_queue
from hub.ids import parse_id
from hub.models import utcnow

bp = Blueprint("queue", __name__)


def _filter_from(args: Any) -> QueueFilter:
    # a filter value that names nothing is ignored, like an unknown status or platform
    assignee = args.get("assignee", "")
    if assignee not in ("me", "none") and parse_id(assignee) is None:
        assignee = ""
    return QueueFilter(
        status=args.get("status", "active"),
        team_id=parse_id(args.get("team")),
        platform=args.get("platform", "") if args.get("platform") in platform_names() else "",
        assignee=assignee,
        after=args.get("after", ""),
        scope=args["scope"] if args.get("scope") in SCOPES else default_scope(current_user),
    )


@bp.route("/queue")
@role_required("employee", "manager")
def index() -> Any:
    session = get_session()
    f = _filter_from(request.args)
    page = list_queue(session, f, current_user, current_app.config["QUEUE_PAGE_SIZE"])
    template = (
        "engagement/queue/_rows.html"
        if request.headers.get("HX-Request")
        else "engagement/queue/index.html"
    )
    return render_template(
        template,
        page=page,
        f=f,
        due=due_views(page.mentions, utcnow()),
        **queue_choices(session).context(),
    )
