"""Role-matrix rows for the review pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

ROWS = [
    ("GET", "/review/", {COMP, ADMIN}, 200),
    ("GET", "/review/settings", {COMP, ADMIN}, 200),
    ("POST", "/review/settings", {COMP, ADMIN}, 302),
    ("GET", "/review/{o}", {COMP, ADMIN}, 200),
    ("POST", "/review/{o}/approve", {COMP, ADMIN}, 302),
    ("POST", "/review/{o}/reject", {COMP, ADMIN}, 302),
    ("POST", "/review/{o}/edit", {COMP, ADMIN}, 302),
]
#: long enough for a rejection (10) and an override (20)
FORM = {"reason": "Reviewed in the role-matrix test, fine to publish."}
