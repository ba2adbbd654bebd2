"""Role-matrix rows for the policy_admin pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/policy/", {COMP, ADMIN}),
]
