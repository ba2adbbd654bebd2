"""Role-matrix rows for one answer per customer: take-over, writing presence (collected by
test_roles.py).

The world's mention {m} is assigned to the employee; a claim is a compare-and-set on the
assignee the page showed (nobody, in the matrix's form), so PREPARE hands the mention back to
the pool first: the matrix tests who may press the button, test_one_answer.py what it does.
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"


def _unassigned(app: Any, _comp_id: int) -> dict[str, int]:
    from sqlalchemy import update

    from hub.db import job_session
    from hub.models import Mention

    with job_session(app) as s:
        s.execute(update(Mention).values(assignee_id=None, status="new"))
    return {}


ROWS = [
    ("POST", "/mentions/{m}/take-over", {MGR, ADMIN}, 302),
    ("POST", "/mentions/{m}/presence", {EMP, MGR, ADMIN}, 204),
    ("GET", "/mentions/{m}/writers", {EMP, MGR, COMP, ADMIN}, 302),
]
PREPARE = {
    ("POST", "/mentions/{m}/claim"): _unassigned,
    ("POST", "/mentions/{m}/take-over"): _unassigned,
}
