"""Role-matrix rows for the queue's live poll and bulk actions (collected by test_roles.py).

The queue's own people (employees, managers) poll it and act in bulk; a browser that opens the
poll outright is sent to the queue page. {m} is the world's mention, assigned to the employee,
so each allowed role may tag it.
"""

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
QUEUE = {EMP, MGR, ADMIN}

ROWS = [
    ("GET", "/queue/live", QUEUE, 302),
    ("POST", "/queue/bulk", QUEUE, 302),
]
FORM = {"bulk": "tag", "ids": "{m}"}
