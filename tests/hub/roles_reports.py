"""Role-matrix rows for the reports pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"

CSV_TABLES = [
    "verdicts",
    "guidelines",
    "employees",
    "teams",
    "platforms",
    "trend",
    "top_findings",
    "mix",
    "review_time",
    "overrides",
]

ROWS = [("GET", "/reports/", {COMP, ADMIN}, 200)] + [
    ("GET", f"/reports/{name}.csv", {COMP, ADMIN}, 200) for name in CSV_TABLES
]
