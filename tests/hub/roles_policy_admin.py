"""Role-matrix rows for the policy_admin pages (collected by test_roles.py).

The POST rows act on real pack versions, made by PREPARE for the allowed roles only (a draft
costs a pack build, its examples about a second): {v} is then a draft (tested where activation
needs it), and /policy/revert has an active version to retire.
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/policy/", {COMP, ADMIN}, 200),
    ("GET", "/policy/edit", {COMP, ADMIN}, 200),
    ("POST", "/policy/edit", {COMP, ADMIN}, 302),
    ("GET", "/policy/versions/{v}", {COMP, ADMIN}, 200),
    ("POST", "/policy/versions/{v}/test", {COMP, ADMIN}, 302),
    ("POST", "/policy/versions/{v}/activate", {COMP, ADMIN}, 302),
    ("POST", "/policy/revert", {COMP, ADMIN}, 302),
]
WORD = "zyzzyvarolesmatrix"


def _word_field() -> tuple[str, str]:
    """(form field, value): the first word list of the shipped pack with one more word."""
    from hub.compliance import packs

    spec = packs.load_spec(packs.shipped_text())
    field = next(f for f in packs.editable_fields(spec) if f.kind == "list" and f.scope)
    return field.name, "\n".join([*field.entries, WORD])


_NAME, _VALUE = _word_field()
FORM = {_NAME: _VALUE, "base": "{base}", "note": "roles matrix"}


def _draft(app: Any, actor_id: int, *, tested: bool = False, active: bool = False) -> int:
    from hub.compliance import packs
    from hub.db import job_session

    with job_session(app) as s:
        base = packs.current_base(s).version
        row = packs.create_draft(s, packs.PackEdit({_NAME: _VALUE}, "roles", base), actor_id).row
        if tested or active:
            assert not packs.run_examples(s, row, actor_id)["failed"]
        if active:
            packs.activate_version(s, row.id, actor_id)
        return row.id


#: (method, path) → prepare(app, actor_id): ids to use instead of the world's
PREPARE = {
    ("POST", "/policy/versions/{v}/test"): lambda app, actor: {"v": _draft(app, actor)},
    ("POST", "/policy/versions/{v}/activate"): lambda app, actor: {
        "v": _draft(app, actor, tested=True)
    },
    ("POST", "/policy/revert"): lambda app, actor: {"v": _draft(app, actor, active=True)},
}
