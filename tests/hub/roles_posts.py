"""Role-matrix rows for the posts pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/posts/", {EMP, MGR, ADMIN}),
]
