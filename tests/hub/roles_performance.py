"""Role-matrix rows for the performance pages (collected by test_roles.py).

Every role sees its own figures; the leaderboard is for team leads and managers. The world's
employee leads no team, so they get 403 there (tests/hub/test_performance.py checks a lead's
200 and every scope refusal: another person's or another team's figures).
"""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

ROWS = [
    ("GET", "/performance/", ALL_STAFF, 200),
    ("GET", "/performance/people.csv", ALL_STAFF, 200),
    ("GET", "/performance/teams.csv", ALL_STAFF, 200),
    ("GET", "/performance/days.csv", ALL_STAFF, 200),
    ("GET", "/performance/leaderboard", {MGR, ADMIN}, 200),
]
