"""Team work on a mention: internal notes that @mention teammates, and follow-up tasks.

Notes are for the staff only: nothing here reaches a connector or the outbox. A note's
``@handle`` names a teammate; a person's handle is the part of their e-mail before the "@"
(``ana.ruiz`` for ana.ruiz@kestrel.example), compared without regard to case, and their whole
e-mail (``@ana.ruiz@kestrel.example``) names them when two people share a handle. Each person a
note names is notified once, however often it names them; names that match nobody, or more than
one person, are reported back to the writer (:class:`HandleReport`), never dropped in silence.

A task has a title, an owner (someone who works mentions), a due time in UTC and is open or
done. Its owner is told when given it, and once more when it becomes overdue: the overdue job
(``run_task_deadlines``) marks each late task with ``overdue_notified_at`` by a compare-and-set
``UPDATE ... WHERE id = ? AND overdue_notified_at IS NULL`` and notifies only when that
statement changed the row, so two workers, or a run that read a stale worklist, tell an owner
once (as hub.engagement.deadlines does for first responses). Only the owner or a community
manager may mark a task done or open it again. Every note and every change to a task is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, selectinload

from hub.audit import record_event
from hub.db import job_session
from hub.engagement.assignment import can_reply
from hub.engagement.present import active_staff
from hub.errors import Conflict, Forbidden, NotFound, UserError
from hub.i18n import _
from hub.ids import parse_id
from hub.models import FollowUpTask, Mention, MentionNote, Notification, Staff, utcnow

#: the longest note, in characters (the customer-notes limit: a note, not a report)
MAX_NOTE = 2000
#: the longest task title (the column's width)
MAX_TITLE = 200
#: the most late tasks one run of the overdue job acts on; the rest wait for the next run
BATCH = 500
#: roles that write notes and tasks: the people who work mentions
WRITER_ROLES = ("employee", "manager")
#: what the due-time field sends (an HTML datetime-local input), read as UTC
DUE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")

# An @handle: not inside a word or an e-mail address ("ana@x.test" names nobody), ASCII like
# e-mail local parts (so "@ana你好" in Chinese text still reads "ana"), optionally followed by
# the person's domain ("@ana@kestrel.example") to say which of two Anas.
_HANDLE = re.compile(
    r"(?<![A-Za-z0-9_.%+@-])@([A-Za-z0-9_.%+-]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)


class Person(Protocol):
    """What handle matching needs of a member of staff."""

    id: int
    email: str
    name: str


def handle_of(person: Person) -> str:
    """A person's @handle: the part of their e-mail before the "@", in lower case."""
    return person.email.split("@", 1)[0].casefold()


@dataclass(frozen=True)
class HandleReport:
    """What a note's @handles came to: who they named, and what named nobody or several."""

    #: the people named, each once, in the order the note first names them
    named: tuple[Person, ...] = ()
    #: handles that match nobody active, as written (without the "@")
    unknown: tuple[str, ...] = ()
    #: handles that match several people: (handle as written, those people)
    ambiguous: tuple[tuple[str, tuple[Person, ...]], ...] = ()

    def problems(self) -> list[str]:
        """What the writer is told about handles that notified nobody, in their language."""
        out = [
            _("Nobody was told about @%(handle)s: no one here has that handle.", handle=h)
            for h in self.unknown
        ]
        for written, people in self.ambiguous:
            out.append(
                _(
                    "Nobody was told about @%(handle)s: it could be %(people)s. "
                    "Write the whole e-mail, e.g. @%(example)s.",
                    handle=written,
                    people=", ".join(f"{p.name} ({p.email})" for p in people),
                    example=people[0].email,
                )
            )
        return out


def find_handles(text: str) -> list[str]:
    """The @handles a text names, as written, in order (repeats kept)."""
    found = []
    for m in _HANDLE.finditer(text):
        handle = m.group(1).rstrip(".")  # "thanks @ana." ends a sentence, not a handle
        if handle:
            found.append(handle)
    return found


def match_handles(text: str, people: Iterable[Person]) -> HandleReport:
    """Match a note's @handles against ``people`` (the active staff); pure, no database."""
    by_handle: dict[str, list[Person]] = {}
    by_email: dict[str, Person] = {}
    for p in people:
        by_handle.setdefault(handle_of(p), []).append(p)
        by_email[p.email.casefold()] = p
    named: dict[int, Person] = {}
    unknown: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, tuple[Person, ...]]] = {}
    for written in find_handles(text):
        key = written.casefold()
        if "@" in key:
            hit = by_email.get(key)
            candidates = [hit] if hit is not None else []
        else:
            candidates = by_handle.get(key, [])
        if len(candidates) == 1:
            named.setdefault(candidates[0].id, candidates[0])
        elif candidates:
            ambiguous.setdefault(key, (written, tuple(sorted(candidates, key=lambda p: p.email))))
        else:
            unknown.setdefault(key, written)
    return HandleReport(tuple(named.values()), tuple(unknown.values()), tuple(ambiguous.values()))


def _active_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id)))


def _may_write(actor: Staff) -> None:
    if not actor.has_role(*WRITER_ROLES):
        raise Forbidden(_("Only the people who work mentions write notes and tasks."))


@dataclass(frozen=True)
class NewNote:
    """A note as its writer sent it."""

    mention_id: int
    text: str


@dataclass(frozen=True)
class NoteAdded:
    """The note written, and what its @handles came to."""

    note: MentionNote
    handles: HandleReport
    #: the people notified (the named, less the writer)
    notified: tuple[int, ...] = field(default=())


def get_mention(session: Session, mention_id: int) -> Mention:
    """The mention, or NotFound."""
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise NotFound(_("That mention does not exist."))
    return mention


def add_note(session: Session, new: NewNote, actor: Staff, now: datetime) -> NoteAdded:
    """Write an internal note on a mention and notify each teammate it names once."""
    _may_write(actor)
    mention = get_mention(session, new.mention_id)
    text = new.text.strip()
    if not text:
        raise UserError(_("The note is empty."))
    if len(text) > MAX_NOTE:
        raise UserError(
            _(
                "A note has at most %(max)s characters; this one has %(n)s.",
                max=MAX_NOTE,
                n=len(text),
            )
        )
    handles = match_handles(text, _active_staff(session))
    notified = tuple(p.id for p in handles.named if p.id != actor.id)
    note = MentionNote(
        mention_id=mention.id,
        author_id=actor.id,
        text=text,
        notified=list(notified),
        created_at=now,
    )
    session.add(note)
    session.flush()
    for staff_id in notified:
        session.add(
            Notification(
                staff_id=staff_id,
                kind="note_mention",
                mention_id=mention.id,
                data={"note_id": note.id, "by": actor.id, "by_name": actor.name},
                created_at=now,
            )
        )
    record_event(
        session,
        "note.added",
        "note",
        note.id,
        actor.id,
        mention_id=mention.id,
        text=text,
        notified=list(notified),
        unknown=list(handles.unknown),
        ambiguous=[w for w, _people in handles.ambiguous],
    )
    return NoteAdded(note, handles, notified)


# ---------------------------------------------------------------------------------------------
# Tasks


@dataclass(frozen=True)
class NewTask:
    """A task as its writer sent it: the form's text, checked by ``add_task``."""

    mention_id: int
    title: str
    owner: str
    due: str


def parse_due(raw: str, now: datetime) -> datetime:
    """The due time in a form (UTC, "2026-03-02T17:30"); it must be in the future."""
    text = (raw or "").strip()
    if not text:
        raise UserError(_("Say when the task is due (UTC)."))
    due = None
    for fmt in DUE_FORMATS:
        try:
            due = datetime.strptime(text, fmt).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    if due is None:
        raise UserError(_("The due time is not a date and time like 2026-03-02 17:30."))
    if due <= now:
        raise UserError(_("The due time has passed; choose a time in the future (UTC)."))
    return due


def add_task(session: Session, new: NewTask, actor: Staff, now: datetime) -> FollowUpTask:
    """Give someone who works mentions a task on a mention, due in the future; they are told."""
    _may_write(actor)
    mention = get_mention(session, new.mention_id)
    errors: dict[str, str] = {}
    title = " ".join(new.title.split())
    if not title:
        errors["title"] = _("Give the task a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("A task title has at most %(max)s characters.", max=MAX_TITLE)
    owner_id = parse_id(new.owner)
    owner = session.get(Staff, owner_id) if owner_id is not None else None
    if owner is None:
        errors["owner"] = _("Choose who owns the task.")
    elif not can_reply(owner):
        errors["owner"] = _(
            "%(name)s does not work mentions and cannot own a task.", name=owner.name
        )
    try:
        due = parse_due(new.due, now)
    except UserError as exc:
        errors["due"] = exc.message
    if errors:  # every problem at once, so the form is fixed in one go
        raise UserError(" ".join(errors.values()), errors=errors)
    assert owner is not None
    task = FollowUpTask(
        mention_id=mention.id,
        title=title,
        owner_id=owner.id,
        created_by=actor.id,
        due_at=due,
        created_at=now,
    )
    session.add(task)
    session.flush()
    if owner.id != actor.id:
        session.add(
            Notification(
                staff_id=owner.id,
                kind="task_assigned",
                mention_id=mention.id,
                data={
                    "task_id": task.id,
                    "title": title,
                    "due_at": due.isoformat(),
                    "by": actor.id,
                    "by_name": actor.name,
                },
                created_at=now,
            )
        )
    record_event(
        session,
        "task.created",
        "task",
        task.id,
        actor.id,
        mention_id=mention.id,
        title=title,
        owner=owner.id,
        due_at=due.isoformat(),
    )
    return task


def get_task(session: Session, task_id: int) -> FollowUpTask:
    """The task, or NotFound."""
    task = session.get(FollowUpTask, task_id)
    if task is None:
        raise NotFound(_("That task does not exist."))
    return task


def set_task_done(
    session: Session, task: FollowUpTask, done: bool, actor: Staff, now: datetime
) -> None:
    """Mark a task done (or open again): its owner may, and community managers may."""
    if not (actor.has_role("manager") or task.owner_id == actor.id):
        raise Forbidden(_("Only the task's owner or a community manager can change it."))
    # compare-and-set: of two clicks (or two people) only the first changes the task
    guard = FollowUpTask.done_at.is_(None) if done else FollowUpTask.done_at.is_not(None)
    result = session.execute(
        update(FollowUpTask)
        .where(FollowUpTask.id == task.id, guard)
        .values(done_at=now if done else None, done_by=actor.id if done else None)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        raise Conflict(_("The task was already done.") if done else _("The task was already open."))
    session.refresh(task)
    record_event(
        session,
        "task.done" if done else "task.reopened",
        "task",
        task.id,
        actor.id,
        mention_id=task.mention_id,
        owner=task.owner_id,
    )


# ---------------------------------------------------------------------------------------------
# What the pages show


@dataclass(frozen=True)
class TaskView:
    """One task as a page shows it."""

    task: FollowUpTask
    overdue: bool
    #: whether the viewer may mark it done or open again
    can_change: bool


@dataclass(frozen=True)
class NoteView:
    """One note as the mention page shows it."""

    note: MentionNote
    #: the names of the people it notified
    told: list[str]


@dataclass(frozen=True)
class MentionWork:
    """The notes and tasks of a mention, for its page."""

    notes: list[NoteView]
    tasks: list[TaskView]
    #: who may own a task (active people who work mentions), by name
    owners: list[Staff]
    can_write: bool
    max_note: int = MAX_NOTE
    max_title: int = MAX_TITLE


def _task_view(task: FollowUpTask, viewer: Staff, now: datetime) -> TaskView:
    return TaskView(
        task,
        task.done_at is None and task.due_at < now,
        viewer.has_role("manager") or task.owner_id == viewer.id,
    )


def mention_work(session: Session, mention_id: int, viewer: Staff, now: datetime) -> MentionWork:
    """A mention's notes (oldest first) and tasks (open first, soonest due first)."""
    notes = list(
        session.scalars(
            select(MentionNote)
            .options(selectinload(MentionNote.author))
            .where(MentionNote.mention_id == mention_id)
            .order_by(MentionNote.id)
        )
    )
    tasks = list(
        session.scalars(
            select(FollowUpTask)
            .options(selectinload(FollowUpTask.owner))
            .where(FollowUpTask.mention_id == mention_id)
            .order_by(
                case((FollowUpTask.done_at.is_(None), 0), else_=1),
                FollowUpTask.due_at,
                FollowUpTask.id,
            )
        )
    )
    told = {i for n in notes for i in n.notified}
    names = (
        {
            i: name
            for i, name in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(told)))
        }
        if told
        else {}
    )
    return MentionWork(
        [NoteView(n, [names[i] for i in n.notified if i in names]) for n in notes],
        [_task_view(t, viewer, now) for t in tasks],
        active_staff(session),
        viewer.has_role(*WRITER_ROLES),
    )


def my_open_tasks(session: Session, viewer: Staff, now: datetime) -> list[TaskView]:
    """The viewer's open tasks, soonest due first (so the overdue ones lead)."""
    rows = session.scalars(
        select(FollowUpTask)
        .options(selectinload(FollowUpTask.mention))
        .where(FollowUpTask.owner_id == viewer.id, FollowUpTask.done_at.is_(None))
        .order_by(FollowUpTask.due_at, FollowUpTask.id)
    )
    return [_task_view(t, viewer, now) for t in rows]


# ---------------------------------------------------------------------------------------------
# The overdue job


def overdue_task_ids(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Open tasks past their due time whose owner has not been told yet."""
    return list(
        session.scalars(
            select(FollowUpTask.id)
            .where(
                FollowUpTask.done_at.is_(None),
                FollowUpTask.overdue_notified_at.is_(None),
                FollowUpTask.due_at < now,
            )
            .order_by(FollowUpTask.due_at, FollowUpTask.id)
            .limit(limit)
        )
    )


def _mark_overdue(session: Session, task_id: int, now: datetime) -> bool:
    """Set ``overdue_notified_at`` if nobody has; True only for the one caller that did."""
    result = session.execute(
        update(FollowUpTask)
        .where(
            FollowUpTask.id == task_id,
            FollowUpTask.overdue_notified_at.is_(None),
            FollowUpTask.done_at.is_(None),
            FollowUpTask.due_at < now,
        )
        .values(overdue_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def notify_overdue(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Tell the owner of each task of ``ids`` nobody marked yet that it is late (caller
    commits); returns the tasks this call acted on."""
    mine = [i for i in ids if _mark_overdue(session, i, now)]
    if not mine:
        return []
    tasks = session.scalars(
        select(FollowUpTask).where(FollowUpTask.id.in_(mine)).order_by(FollowUpTask.id)
    )
    for task in tasks:
        session.add(
            Notification(
                staff_id=task.owner_id,
                kind="task_overdue",
                mention_id=task.mention_id,
                data={"task_id": task.id, "title": task.title, "due_at": task.due_at.isoformat()},
                created_at=now,
            )
        )
        record_event(
            session,
            "task.overdue",
            "task",
            task.id,
            None,
            mention_id=task.mention_id,
            owner=task.owner_id,
            due_at=task.due_at.isoformat(),
        )
    return mine


def notify_overdue_tasks(session: Session, now: datetime) -> list[int]:
    """Find the late tasks and tell each owner once (caller commits)."""
    return notify_overdue(session, overdue_task_ids(session, now), now)


def run_task_deadlines(app: Flask) -> Any:
    """The scheduler's job: one transaction per run."""
    with job_session(app) as session:
        return len(notify_overdue_tasks(session, utcnow()))
