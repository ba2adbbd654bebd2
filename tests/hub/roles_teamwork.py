"""Role-matrix rows for internal notes and follow-up tasks (collected by test_roles.py): the
people who work mentions (employees, managers) write notes and tasks and have a task list;
compliance reads notes on the mention page but writes none.

The world has no task, so PREPARE (for the allowed roles) overrides a world key: {o} is a task
owned by the world's employee (the assignee of {m}), open for "done" and done for "reopen", so
the employee changes their own task and the managers someone else's. Refused roles are refused
before any lookup."""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
WRITERS = {EMP, MGR, ADMIN}


def _task(done: bool) -> Any:
    def prepare(app: Any, _comp_id: int) -> dict[str, int]:
        from datetime import UTC, datetime, timedelta

        from sqlalchemy import select

        from hub.db import job_session
        from hub.models import FollowUpTask, Mention

        now = datetime.now(UTC)
        with job_session(app) as s:
            mention = s.scalars(
                select(Mention).where(Mention.assignee_id.is_not(None)).order_by(Mention.id)
            ).first()
            assert mention is not None and mention.assignee_id is not None
            task = FollowUpTask(
                mention_id=mention.id,
                title="Call back",
                owner_id=mention.assignee_id,
                created_by=mention.assignee_id,
                due_at=now + timedelta(days=1),
                done_at=now if done else None,
            )
            s.add(task)
            s.flush()
            return {"o": task.id}

    return prepare


ROWS = [
    ("POST", "/mentions/{m}/notes", WRITERS, 302),
    ("POST", "/mentions/{m}/tasks", WRITERS, 302),
    ("POST", "/tasks/{o}/done", WRITERS, 302),
    ("POST", "/tasks/{o}/reopen", WRITERS, 302),
    ("GET", "/tasks", WRITERS, 200),
]
# the task form: the world's employee-nobody-signs-in-as owns it, due far ahead
FORM = {"title": "Call the customer back", "owner": "{s}", "due": "2099-01-01T09:00"}
PREPARE = {
    ("POST", "/tasks/{o}/done"): _task(done=False),
    ("POST", "/tasks/{o}/reopen"): _task(done=True),
}
