"""The community managers' queue: filters, bulk actions, and live updates.

Live updates are htmx polling, not server-sent events. ``hub serve`` runs a fixed pool of
``SERVER_THREADS`` threads (8 by default) in each web process; an SSE stream holds a thread for
as long as its tab is open, so eight open queues would leave no thread for anything else, and a
bounded-lifetime stream still holds one per tab for most of each minute. A poll holds a thread
for about 10 ms (bench/bench_queue_poll.py): the page's ``#live`` element asks ``/queue/live``
every second with the :func:`~hub.engagement.queue.change_key` it was rendered at; an unchanged
key costs one statement of three index lookups and answers 204 (htmx swaps nothing). A changed
key answers the rows and the header counts together (out-of-band swaps of ``#rows`` and
``#counts``, from one ``list_queue`` call), so the counts never disagree with the rows. The key
lives in the database, so a mention ingested by another process (``hub worker``, another web
worker) shows within a second.

While the person has rows ticked, the poll sends the ticked ids and the answer never replaces
the rows: it only says "N new mentions — show", so a bulk action in progress keeps its
selection (queue.js also re-ticks rows after any swap, for a poll already in flight).
"""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from hub.auth import role_required, safe_next
from hub.db import get_session
from hub.engagement.bulk import BulkAction, apply_bulk
from hub.engagement.language import SERVED
from hub.engagement.present import due_views, platform_names, queue_choices
from hub.engagement.queue import (
    ACTIVE,
    MAX_QUERY,
    MAX_TAG,
    SCOPES,
    QueueFilter,
    change_key,
    count_newer,
    default_scope,
    list_queue,
    newest_mention_id,
)
from hub.errors import Forbidden, UserError
from hub.i18n import _
from hub.ids import parse_id
from hub.models import PRIORITIES, utcnow

bp = Blueprint("queue", __name__)
#: a language code as mentions store them ("none": not detected)
_LANGUAGE = re.compile(r"[a-z]{2,3}|none")


def _text_arg(args: Any, name: str, limit: int, label: str, problems: list[str]) -> str:
    """A free-text filter: control characters dropped, spaces collapsed; too long is refused
    (with a message) rather than silently cut, so the list never claims to match a search it
    did not run."""
    value = " ".join("".join(ch for ch in args.get(name, "") if ch.isprintable()).split())
    if len(value) > limit:
        problems.append(
            _("%(field)s: at most %(max)s characters; ignored.", field=label, max=limit)
        )
        return ""
    return value


def filter_from(args: Any) -> tuple[QueueFilter, list[str]]:
    """The filter in the URL, and what was wrong with it (a value that names nothing is
    ignored, like an unknown status or platform). The JSON API reads its filters here too."""
    problems: list[str] = []
    assignee = args.get("assignee", "")
    if assignee not in ("me", "none") and parse_id(assignee) is None:
        assignee = ""
    language = args.get("language", "")
    f = QueueFilter(
        status=args.get("status", "active"),
        team_id=parse_id(args.get("team")),
        platform=args.get("platform", "") if args.get("platform") in platform_names() else "",
        assignee=assignee,
        after=args.get("after", ""),
        scope=args["scope"] if args.get("scope") in SCOPES else default_scope(current_user),
        language=language if _LANGUAGE.fullmatch(language) else "",
        priority=args.get("priority", "") if args.get("priority") in PRIORITIES else "",
        overdue=args.get("overdue") == "1",
        q=_text_arg(args, "q", MAX_QUERY, _("Search"), problems),
        tag=_text_arg(args, "tag", MAX_TAG, _("Tag"), problems),
    )
    return f, problems


def _context(f: QueueFilter) -> dict[str, Any]:
    """What the rows, the counts and the live poller render from (key read before the rows)."""
    session = get_session()
    now = utcnow()
    key = change_key(session, now)
    page = list_queue(session, f, current_user, current_app.config["QUEUE_PAGE_SIZE"], now)
    return {
        "page": page,
        "f": f,
        "due": due_views(page.mentions, now),
        "live_key": key,
        "seen": newest_mention_id(key),
        **_choices(),
    }


def _choices() -> dict[str, Any]:
    """The filter menus and limits the page's forms offer."""
    return {
        **queue_choices(get_session()).context(),
        "languages": SERVED,
        "priorities": PRIORITIES,
        "active_statuses": ACTIVE,
        "max_query": MAX_QUERY,
        "max_tag": MAX_TAG,
    }


@bp.route("/queue")
@role_required("employee", "manager")
def index() -> Any:
    f, problems = filter_from(request.args)
    return render_template(
        "engagement/queue/index.html", problems=problems, new_count=0, **_context(f)
    )


@bp.route("/queue/live")
@role_required("employee", "manager")
def live() -> Any:
    """The poll of an open queue (htmx, every second): 204 when nothing changed; else the rows
    and counts, or only "N new — show" while rows are ticked (see the module docstring)."""
    if request.headers.get("HX-Request") != "true":
        kept: dict[str, Any] = {
            k: v for k, v in request.args.items() if k not in ("v", "seen", "ids")
        }
        return redirect(url_for("queue.index", **kept))
    f, _problems = filter_from(request.args)
    session = get_session()
    key = change_key(session)
    if request.args.get("v") == key:
        return "", 204
    if request.args.getlist("ids"):
        seen = parse_id(request.args.get("seen"), big=True) or 0
        return render_template(
            "engagement/queue/_live.html",
            f=f,
            live_key=key,
            seen=seen,
            new_count=count_newer(session, f, current_user, seen),
        )
    return render_template("engagement/queue/_refresh.html", new_count=0, **_context(f))


def _back() -> str:
    """Where the bulk form came from (the queue with its filters), never another site."""
    back = safe_next(request.form.get("back", ""))
    return back if back and back.startswith("/queue") else url_for("queue.index")


@bp.route("/queue/bulk", methods=["POST"])
@role_required("employee", "manager")
def bulk() -> Any:
    """Assign, close or tag the ticked mentions; says how many changed and why any were not."""
    ids = [parse_id(raw, big=True) for raw in request.form.getlist("ids")]
    if any(i is None for i in ids):
        flash(_("The form is out of date; reload the page."), "error")
        return redirect(_back())
    raw_assignee = request.form.get("assignee", "")
    form = BulkAction(
        action=request.form.get("bulk", ""),
        mention_ids=tuple(i for i in ids if i is not None),
        assignee_id=parse_id(raw_assignee),
        tag=request.form.get("tag", ""),
    )
    if raw_assignee and form.assignee_id is None:
        flash(_("No such person."), "error")
        return redirect(_back())
    try:
        result = apply_bulk(get_session(), form, current_user)
    except Forbidden:
        raise  # the app's handler: a 403 page, nothing changed
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(result.summary(), "warn" if result.skipped else "ok")
    return redirect(_back())
