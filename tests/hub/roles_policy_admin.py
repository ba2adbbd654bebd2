"""Role-matrix rows for the policy_admin pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/policy/", {COMP, ADMIN}),
    ("GET", "/policy/edit", {COMP, ADMIN}),
    ("POST", "/policy/edit", {COMP, ADMIN}),
    ("GET", "/policy/versions/{v}", {COMP, ADMIN}),
    ("POST", "/policy/versions/{v}/test", {COMP, ADMIN}),
    ("POST", "/policy/versions/{v}/activate", {COMP, ADMIN}),
    ("POST", "/policy/revert", {COMP, ADMIN}),
]
