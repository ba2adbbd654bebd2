"""Role-matrix rows for the notifications page (collected by test_roles.py): everyone has their
own notifications."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

ROWS = [
    ("GET", "/notifications", ALL_STAFF, 200),
    ("POST", "/notifications/read", ALL_STAFF, 302),
]
