"""Settings of the people wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (
    (
        "INVITE_HOURS",
        72,
        "hours an invite link (to set a first or a new password) works; a newer link for the "
        "same person replaces it at once",
    ),
)
