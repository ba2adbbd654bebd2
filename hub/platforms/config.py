"""Settings of the platforms wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (
    (
        "PLATFORMS",
        ("connectors.sandbox", "connectors.x", "connectors.bluesky"),
        "connector modules to load, one per platform; one that fails to import is skipped",
    ),
    (
        "POLL_SECONDS",
        15,
        "how often each account is polled (errors back off, rate limits wait for the reset)",
    ),
    (
        "ALLOW_LOCAL_PLATFORMS",
        False,
        "true lets platform addresses (a Bluesky PDS, X's API base) be on this machine or a "
        "private network, and plain http:// on this machine; link-local, multicast and cloud "
        "metadata addresses stay refused",
    ),
    ("SANDBOX_URL", "sqlite:///{instance}/sandbox.db", "the sandbox platform's own store"),
    ("SANDBOX_ENABLED", True, "false switches the sandbox platform's pages off"),
    ("SANDBOX_BRAND", "KestrelFootwear", "the brand account the sandbox pages post to"),
)
