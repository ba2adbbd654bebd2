"""Role-matrix rows for the posts pages (collected by test_roles.py).

{o} is a post written by another employee: employees and managers get 404 for it (only its
author and admins see it), which the matrix accepts as "allowed by role"; test_posts.py checks
the 404s themselves.
"""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
WRITERS = {EMP, MGR, ADMIN}

ROWS = [
    ("GET", "/posts/", WRITERS),
    ("GET", "/posts/new", WRITERS),
    ("POST", "/posts/new", WRITERS),
    ("POST", "/posts/check", WRITERS),
    ("GET", "/posts/{o}", WRITERS),
    ("GET", "/posts/{o}/edit", WRITERS),
    ("POST", "/posts/{o}/edit", WRITERS),
    ("POST", "/posts/{o}/withdraw", WRITERS),
]
