"""Role-matrix rows for the posts pages (collected by test_roles.py).

{o} is a post written by another employee: employees and managers get 404 for it (only its
author and admins see it), though their role lets them use these pages; test_posts.py checks
the 404s themselves.
"""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
WRITERS = {EMP, MGR, ADMIN}

NOT_THEIRS = {EMP: 404, MGR: 404}

ROWS = [
    ("GET", "/posts/", WRITERS, 200),
    ("GET", "/posts/new", WRITERS, 200),
    ("POST", "/posts/new", WRITERS, 302),
    ("POST", "/posts/check", WRITERS, 200),
    ("GET", "/posts/{o}", WRITERS, NOT_THEIRS | {ADMIN: 200}),
    ("GET", "/posts/{o}/edit", WRITERS, NOT_THEIRS | {ADMIN: 200}),
    ("POST", "/posts/{o}/edit", WRITERS, NOT_THEIRS | {ADMIN: 302}),
    ("POST", "/posts/{o}/withdraw", WRITERS, NOT_THEIRS | {ADMIN: 302}),
]
#: the composer posts to the brand's sandbox account
FORM = {"account_id": "{a}"}
