"""Settings of the engagement wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (
    ("QUEUE_PAGE_SIZE", 25, "rows per queue page (keyset pagination)"),
    ("DEFAULT_SLA_MINUTES", 120, "first-response deadline when no routing rule sets one"),
    (
        "SLA_SWEEP_SECONDS",
        60,
        "how often the deadline job acts on missed first-response deadlines",
    ),
)
