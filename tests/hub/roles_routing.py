"""Role-matrix rows for the routing editor (collected by test_roles.py).

Community managers (and admins) write the routing rules; nobody else may even read them. {r} is
a routing rule of the world and {g} a team.
"""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
EDITORS = {MGR, ADMIN}

ROWS = [
    ("GET", "/routing/", EDITORS, 200),
    ("GET", "/routing/new", EDITORS, 200),
    ("POST", "/routing/new", EDITORS, 302),
    ("GET", "/routing/{r}", EDITORS, 200),
    ("POST", "/routing/{r}", EDITORS, 302),
    ("POST", "/routing/{r}/enabled", EDITORS, 302),
    ("POST", "/routing/{r}/move", EDITORS, 302),
    ("GET", "/routing/{r}/delete", EDITORS, 200),
    ("POST", "/routing/{r}/delete", EDITORS, 302),
]
FORM = {
    "rule-name": "Zips",
    "rule-position": "1",
    "rule-c_keywords": "zipper",
    "rule-team": "{g}",
    "rule-priority": "p1",
    "rule-tags": "zip",
    "action": "save",
    "enabled": "1",
    "direction": "down",
}
