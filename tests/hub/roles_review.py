"""Role-matrix rows for the review pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/review/", {COMP, ADMIN}),
    ("GET", "/review/settings", {COMP, ADMIN}),
    ("POST", "/review/settings", {COMP, ADMIN}),
    ("GET", "/review/{o}", {COMP, ADMIN}),
    ("POST", "/review/{o}/approve", {COMP, ADMIN}),
    ("POST", "/review/{o}/reject", {COMP, ADMIN}),
    ("POST", "/review/{o}/edit", {COMP, ADMIN}),
]
#: long enough for a rejection (10) and an override (20)
FORM = {"reason": "Reviewed in the role-matrix test, fine to publish."}
