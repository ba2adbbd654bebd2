"""Role-matrix rows for the reports pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/reports/", {COMP, ADMIN}),
]
