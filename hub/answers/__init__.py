"""Answers at hand: saved replies with sandboxed placeholders, and similar past answers."""
