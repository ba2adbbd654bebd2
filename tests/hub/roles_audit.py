"""Role-matrix rows for the audit pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
AUDITORS = {COMP, ADMIN}

ROWS = [
    ("GET", "/audit/", AUDITORS, 200),
    ("POST", "/audit/retention", AUDITORS, 302),
    ("POST", "/audit/verify", AUDITORS, 302),
    ("GET", "/audit/holds", AUDITORS, 200),
    ("POST", "/audit/holds", AUDITORS, 302),
    ("POST", "/audit/holds/{h}/release", AUDITORS, 302),
    ("POST", "/audit/export", AUDITORS, 200),  # the archive itself
    ("GET", "/audit/lookup?kind=outbound&id={o}", AUDITORS, 302),
    ("GET", "/audit/items/outbound/{o}", AUDITORS, 200),
    ("GET", "/audit/items/mention/{m}", AUDITORS, 200),
]
# Field names are prefixed so they cannot collide with other features' FORM entries.
FORM = {
    "retention_years": "8",
    "hold_employee": "",
    "hold_from": "2020-01-01",
    "hold_to": "2020-12-31",
    "hold_reason": "roles matrix",
    "export_employee": "",
    "export_from": "2020-01-01",
    "export_to": "2030-12-31",
}
