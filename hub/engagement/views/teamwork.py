"""Internal notes and follow-up tasks on a mention, and the signed-in person's tasks.

The mention page shows both through ``teamwork_panel(mention)`` (a template global, so the
conversation view needs no change to carry them). A form with a problem comes back on a page of
its own with what was typed and what to fix, so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import role_required
from hub.db import attempt, get_session
from hub.engagement.teamwork import (
    MAX_NOTE,
    MAX_TITLE,
    WRITER_ROLES,
    MentionWork,
    NewNote,
    NewTask,
    add_note,
    add_task,
    get_mention,
    get_task,
    mention_work,
    my_open_tasks,
    set_task_done,
)
from hub.errors import Conflict, UserError
from hub.i18n import _
from hub.models import Mention, utcnow

bp = Blueprint("teamwork", __name__)
#: the most of a field the views read (the services refuse anything over their own limits)
_READ_NOTE = MAX_NOTE * 4
_READ_TITLE = MAX_TITLE * 4


@bp.app_context_processor
def _panel() -> dict[str, Any]:
    def teamwork_panel(mention: Mention) -> MentionWork:
        return mention_work(get_session(), mention.id, current_user, utcnow())

    return {"teamwork_panel": teamwork_panel}


def _back(mention_id: int, anchor: str) -> Any:
    return redirect(url_for("conversation.show", mention_id=mention_id, _anchor=anchor))


@bp.route("/mentions/<bigid:mention_id>/notes", methods=["POST"])
@role_required(*WRITER_ROLES)
def note(mention_id: int) -> Any:
    """Add an internal note; the teammates it names are told, the names nobody has reported."""
    text = request.form.get("text", "")[:_READ_NOTE]
    try:
        with attempt() as session:
            added = add_note(session, NewNote(mention_id, text), current_user, utcnow())
    except UserError as exc:
        if exc.status != 422:  # not the form's fault: the error page says why
            raise
        mention = get_mention(get_session(), mention_id)
        return render_template(
            "engagement/teamwork/fix.html",
            m=mention,
            form="note",
            text=text,
            errors=exc.errors,
            max_note=MAX_NOTE,
        ), exc.status
    flash(_("Note added (internal: only the staff see it)."), "ok")
    for problem in added.handles.problems():
        flash(problem, "warn")
    return _back(mention_id, "notes")


@bp.route("/mentions/<bigid:mention_id>/tasks", methods=["POST"])
@role_required(*WRITER_ROLES)
def task(mention_id: int) -> Any:
    """Add a follow-up task; its owner is told."""
    new = NewTask(
        mention_id,
        request.form.get("title", "")[:_READ_TITLE],
        request.form.get("owner", "")[:20],
        request.form.get("due", "")[:40],
    )
    try:
        with attempt() as session:
            add_task(session, new, current_user, utcnow())
    except UserError as exc:
        if exc.status != 422:  # not the form's fault: the error page says why
            raise
        session = get_session()
        return render_template(
            "engagement/teamwork/fix.html",
            m=get_mention(session, mention_id),
            form="task",
            new=new,
            owners=mention_work(session, mention_id, current_user, utcnow()).owners,
            errors=exc.errors,
            max_title=MAX_TITLE,
        ), exc.status
    flash(_("Task added."), "ok")
    return _back(mention_id, "tasks")


def _set_done(task_id: int, done: bool) -> Any:
    session = get_session()
    task = get_task(session, task_id)
    try:
        with attempt() as session:
            set_task_done(session, task, done, current_user, utcnow())
    except Conflict as exc:  # someone (or another click) got there first: say so, show it
        flash(exc.message, "warn")
    else:
        flash(_("Task done.") if done else _("Task open again."), "ok")
    if request.form.get("next") == "mine":
        return redirect(url_for("teamwork.mine"))
    return _back(task.mention_id, "tasks")


@bp.route("/tasks/<id:task_id>/done", methods=["POST"])
@role_required(*WRITER_ROLES)
def done(task_id: int) -> Any:
    """Mark a task done (its owner or a community manager)."""
    return _set_done(task_id, True)


@bp.route("/tasks/<id:task_id>/reopen", methods=["POST"])
@role_required(*WRITER_ROLES)
def reopen(task_id: int) -> Any:
    """Open a done task again (its owner or a community manager)."""
    return _set_done(task_id, False)


@bp.route("/tasks")
@role_required(*WRITER_ROLES)
def mine() -> Any:
    """The signed-in person's open tasks, overdue first."""
    return render_template(
        "engagement/teamwork/mine.html", tasks=my_open_tasks(get_session(), current_user, utcnow())
    )
