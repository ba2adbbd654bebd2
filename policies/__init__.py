"""Kestrel's policy engine: check a draft against the culture guidelines before it is published."""

from policies.engine import Pack, check, load_pack
from policies.types import AuthorHistory, Context, Decision, Draft, Finding, Mix

__all__ = [
    "AuthorHistory",
    "Context",
    "Decision",
    "Draft",
    "Finding",
    "Mix",
    "Pack",
    "check",
    "load_pack",
]
