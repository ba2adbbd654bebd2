"""The active policy pack: the shipped default until compliance activates an edited version."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import policies

from .models import PolicyPackVersion


def active_pack(session: Session) -> policies.Pack:
    """The pack every check uses now (compiled packs are cached by the engine)."""
    text = session.scalar(
        select(PolicyPackVersion.yaml).where(PolicyPackVersion.state == "active").limit(1)
    )
    return policies.load_pack(text) if text else policies.load_pack()
