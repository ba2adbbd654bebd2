"""Settings of the webhooks wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (
    (
        "WEBHOOKS_ALLOW_PRIVATE",
        False,
        "true lets webhook receivers be on this machine or a private network (local development "
        "and tests); link-local and cloud metadata addresses stay refused",
    ),
    ("WEBHOOKS_SECONDS", 5, "how often the delivery job sends due webhook deliveries"),
)
