"""Role-matrix rows for the audit pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/audit/", {COMP, ADMIN}),
]
