"""Settings of the publishing wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (("SEND_SECONDS", 5, "how often due replies and posts are sent, in seconds"),)
