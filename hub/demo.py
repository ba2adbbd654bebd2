"""Demo data: teams, one account per role, routing rules, sandbox customers and mentions."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sandbox import SandboxConnector, SandboxStore
from hub.audit import record_event
from hub.auth import create_staff, password_matches
from hub.engagement.attributes import compute
from hub.models import (
    Customer,
    CustomerIdentity,
    Mention,
    MentionStatus,
    PlatformAccount,
    RoutingRule,
    Staff,
    Team,
    utcnow,
)
from hub.platforms.accounts import create_account
from hub.publishing.posts import NewPost, submit_post

BRAND = "KestrelFootwear"
#: the demo company's customers write on the sandbox, the platform the hub ships with
SANDBOX = SandboxConnector.platform


def demo_data() -> dict[str, Any]:
    """The shipped demo content."""
    return json.loads(resources.files("hub").joinpath("demo_data.json").read_text("utf-8"))


def load_teams_and_rules(session: Session, data: dict[str, Any]) -> dict[str, Team]:
    """Create the demo teams and routing rules unless they exist."""
    teams = {t.slug: t for t in session.scalars(select(Team))}
    for t in data["teams"]:
        if t["slug"] not in teams:
            teams[t["slug"]] = Team(
                slug=t["slug"],
                name=t["name"],
                assignment_policy=t.get("assignment_policy", "manual"),
                breach_action=t.get("breach_action", "notify"),
            )
            session.add(teams[t["slug"]])
    session.flush()
    if session.scalar(select(RoutingRule.id).limit(1)) is None:
        for pos, r in enumerate(data["rules"], start=1):
            session.add(demo_rule(r, teams[r["team"]].id, pos * 10))
        session.flush()
    return teams


def demo_rule(spec: dict[str, Any], team_id: int, position: int) -> RoutingRule:
    """One of the demo's routing rules (``demo_data()["rules"]``) as a row."""
    return RoutingRule(
        position=position,
        name=spec["name"],
        enabled=True,
        conditions=spec["conditions"],
        team_id=team_id,
        priority=spec.get("priority"),
        sla_minutes=spec.get("sla_minutes"),
        tags=spec.get("tags", []),
        assignment=spec.get("assignment"),
    )


def demo_loaded(session: Session) -> bool:
    """Whether this database already holds the demo company (any of its staff)."""
    emails = [s["email"] for s in demo_data()["staff"]]
    return session.scalar(select(Staff.id).where(Staff.email.in_(emails)).limit(1)) is not None


def _working_passwords(session: Session, passwords_file: Path) -> list[tuple[str, str, str]]:
    """The saved demo passwords that still sign in to an active account of this database."""
    if not passwords_file.exists():
        return []
    working = []
    for line in passwords_file.read_text().splitlines():
        role, email, password = (line.split("\t") + ["", "", ""])[:3]
        staff = session.scalar(select(Staff).where(Staff.email == email))
        if staff is not None and staff.active and password_matches(staff, password):
            working.append((role, email, password))
    return working


def load_demo(session: Session, app: Flask, passwords_file: Path) -> list[tuple[str, str, str]]:
    """Load the demo unless the database has it; return (role, email, password) of the demo
    accounts whose password is known: new ones, or ones saved in ``passwords_file`` by an
    earlier load that still sign in to this database."""
    data = demo_data()
    if demo_loaded(session):
        load_teams_and_rules(session, data)
        return _working_passwords(session, passwords_file)
    teams = load_teams_and_rules(session, data)
    accounts = []
    for s in data["staff"]:
        password = secrets.token_urlsafe(12)
        create_staff(
            session,
            s["email"],
            s["name"],
            s["role"],
            password,
            s["languages"],
            teams[s["team"]].id if s["team"] else None,
        )
        accounts.append((s["role"], s["email"], password))
    _seed_leads(session, teams)
    account = session.scalar(select(PlatformAccount).where(PlatformAccount.platform == SANDBOX))
    if account is None:
        account = create_account(session, app, SANDBOX, BRAND, {"handle": BRAND})
    _load_history(session, data)
    _load_posts(session, account, data)
    store = SandboxStore(app.config["SANDBOX_URL"])
    for m in data["mentions"]:
        name = next(c["name"] for c in data["customers"] if c["handle"] == m["handle"])
        store.create_post(m["handle"], m["text"], display_name=name)
    passwords_file.parent.mkdir(parents=True, exist_ok=True)
    passwords_file.unlink(missing_ok=True)
    with os.fdopen(os.open(passwords_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("\n".join("\t".join(a) for a in accounts))
    return accounts


def _seed_leads(session: Session, teams: dict[str, Team]) -> None:
    """Each team without a lead gets its first member (home team) as lead, so the demo has
    leads for the performance pages and the leaderboard."""
    session.flush()
    for team in teams.values():
        if team.lead_id is None:
            team.lead_id = session.scalar(
                select(Staff.id).where(Staff.team_id == team.id).order_by(Staff.id).limit(1)
            )


def _load_posts(session: Session, account: PlatformAccount, data: dict[str, Any]) -> None:
    """Employees' posts through the real composer path (policy check, mix, review), so the demo
    has sent posts, a scheduled one and one waiting for compliance."""

    for p in data.get("posts", []):
        author = session.scalar(select(Staff).where(Staff.email == p["author"]))
        if author is None:
            continue
        hours = p.get("schedule_hours")
        submit_post(
            session,
            NewPost(
                account_id=account.id,
                text=p["text"],
                schedule_at=utcnow() + timedelta(hours=hours) if hours else None,
            ),
            author,
        )


def _load_history(session: Session, data: dict[str, Any]) -> None:
    """Earlier, closed conversations on X and Bluesky for some demo customers, so the
    conversation page can show one customer across platforms (marked as demo history)."""
    now = utcnow()
    for c in data["customers"]:
        customer = Customer(display_name=c["name"], tags=["demo"])
        session.add(customer)
        session.add(
            CustomerIdentity(
                customer=customer,
                platform=SANDBOX,
                platform_user_id=c["handle"],
                handle=c["handle"],
            )
        )
        seen = set()
        for i, h in enumerate(c["history"]):
            if (h["platform"], h["handle"]) not in seen:
                seen.add((h["platform"], h["handle"]))
                session.add(
                    CustomerIdentity(
                        customer=customer,
                        platform=h["platform"],
                        platform_user_id=f"demo:{h['handle']}",
                        handle=h["handle"],
                    )
                )
            at = now - timedelta(days=h["days_ago"])
            attrs = compute(h["text"])
            mention = Mention(
                platform=h["platform"],
                external_id=f"demo-{c['handle']}-{i}",
                customer=customer,
                author_handle=h["handle"],
                author_name=c["name"],
                text=h["text"],
                created_at=at,
                received_at=at,
                language=attrs["language"],
                attributes=attrs,
                status=MentionStatus.CLOSED.value,
                priority="p3",
                raw={"demo": True, "note": "demo history, not a real post"},
            )
            session.add(mention)
            session.flush()
            record_event(session, "mention.received", "mention", mention.id, why="demo history")
    session.flush()


def trickle_one(app: Flask) -> bool:
    """Post the next demo customer message on the sandbox (a live demo's steady drip)."""
    data = demo_data()
    store = SandboxStore(app.config["SANDBOX_URL"])
    marker = Path(app.instance_path) / "demo-trickle-position"
    pos = int(marker.read_text()) if marker.exists() else 0
    items = data["trickle"]
    if not items:
        return False
    item = items[pos % len(items)]
    store.create_post(item["handle"], item["text"], display_name=item["name"])
    marker.write_text(str(pos + 1))
    return True
