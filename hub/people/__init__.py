"""People: staff administration, invites, and each person's own account (password, duty,
language)."""
