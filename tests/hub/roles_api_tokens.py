"""Role-matrix rows for the API tokens page (collected by test_roles.py): everyone makes their
own tokens; a token is revoked by its owner or an admin ({o}: a token of the compliance
officer, made by PREPARE). The JSON API itself has its own matrix: tests/api/test_api_roles.py.
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

ROWS = [
    ("GET", "/account/api-tokens/", ALL_STAFF, 200),
    ("POST", "/account/api-tokens/", ALL_STAFF, 201),
    # someone else's token: only an admin may revoke it (a 403 page for the others)
    (
        "POST",
        "/account/api-tokens/{o}/revoke",
        ALL_STAFF,
        {EMP: 403, MGR: 403, COMP: 302, ADMIN: 302},
    ),
]
FORM = {"name": "CRM sync", "scope": "read"}


def _token(app: Any, comp_id: int) -> dict[str, Any]:
    from hub.api.tokens import NewToken, create_token
    from hub.db import job_session
    from hub.models import Staff

    with job_session(app) as s:
        row, _token = create_token(s, s.get(Staff, comp_id), NewToken("roles", "read"))
        return {"o": row.id}


PREPARE = {("POST", "/account/api-tokens/{o}/revoke"): _token}
