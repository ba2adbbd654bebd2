"""Signed outgoing webhooks: events written with the change they report, delivered by a job."""
