"""Role-matrix rows for the audit pages (collected by test_roles.py)."""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
AUDITORS = {COMP, ADMIN}

ROWS = [
    ("GET", "/audit/", AUDITORS),
    ("POST", "/audit/retention", AUDITORS),
    ("POST", "/audit/verify", AUDITORS),
    ("GET", "/audit/holds", AUDITORS),
    ("POST", "/audit/holds", AUDITORS),
    ("POST", "/audit/holds/{h}/release", AUDITORS),
    ("POST", "/audit/export", AUDITORS),
    ("GET", "/audit/lookup", AUDITORS),
    ("GET", "/audit/items/outbound/{o}", AUDITORS),
    ("GET", "/audit/items/mention/{m}", AUDITORS),
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
