"""Who gets a new mention: the team's (or the routing rule's) assignment policy.

- ``manual``: nobody; the mention waits in the team's pool for someone to claim it.
- ``round_robin``: the next eligible person after the one who got the team's last mention, in id
  order, wrapping round (``Team.rr_last_staff_id`` remembers where it stopped).
- ``least_loaded``: the eligible person with the fewest open mentions (ties: lowest id).

Eligible (``eligible``) means: active, in the team (home team or an extra team), in a role that
may reply (``REPLY_ROLES``, the roles the reply route lets through), on duty, speaking the
mention's language, and under their cap of open mentions (``Staff.open_cap``; None: no cap).
Someone with no languages listed counts as speaking only ``DEFAULT_LANGUAGE``: an empty list is
what a person added without a choice has, and English is the hub's default. A mention whose
language is unknown can go to anyone.

Caps under concurrency: two processes ingesting at once must not both give someone their last
free slot. ``lock_for_assignment`` takes the rows whose counts it is about to read with
``SELECT ... FOR UPDATE`` on PostgreSQL: first the teams (by id), then every member of those
teams (by id), always in that order so two lockers never wait on each other in a cycle. The
second process blocks until the first commits, and its open-mention counts, read after the lock,
then include the first one's assignments. Locking the people, not only the team, covers a person
in two teams being filled from both at once. SQLite needs no row locks: every write transaction
begins IMMEDIATE (hub.db), so writers run one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hub.audit import append_events
from hub.i18n import lazy_gettext
from hub.models import HELD_STATUSES, Mention, MentionStatus, Staff, StaffTeam, Team

POLICIES = ("manual", "round_robin", "least_loaded")
#: each policy as the team settings page names it
POLICY_LABELS = {
    "manual": lazy_gettext("Manual: mentions wait in the team's pool"),
    "round_robin": lazy_gettext("Round robin"),
    "least_loaded": lazy_gettext("Least loaded"),
}
#: roles that may reply to a mention (hub.engagement.views.conversation.reply; admin passes all)
REPLY_ROLES = ("employee", "manager", "admin")
#: what a person with no languages listed is taken to speak
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Pick:
    """Who a policy chose and why, in words for the audit trail."""

    staff: Staff
    why: str


def can_reply(staff: Staff) -> bool:
    """Whether the person may be given mentions to answer: active, in a replying role."""
    return bool(staff.active) and staff.role in REPLY_ROLES


def speaks(staff: Staff, language: str | None) -> bool:
    """Whether the person answers in ``language`` (unknown language: anyone does)."""
    if not language:
        return True
    return language in (staff.languages or [DEFAULT_LANGUAGE])


def team_member_ids(session: Session, team_ids: Iterable[int]) -> set[int]:
    """Ids of the people whose home team or extra team is one of ``team_ids``."""
    ids = list(set(team_ids))
    if not ids:
        return set()
    extra = select(StaffTeam.staff_id).where(StaffTeam.team_id.in_(ids))
    return set(
        session.scalars(select(Staff.id).where(or_(Staff.team_id.in_(ids), Staff.id.in_(extra))))
    )


def open_counts(session: Session, staff_ids: Iterable[int]) -> dict[int, int]:
    """How many mentions that are not closed each person holds (absent: none)."""
    ids = list(staff_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Mention.assignee_id, func.count())
        .where(Mention.assignee_id.in_(ids), Mention.status.in_(HELD_STATUSES))
        .group_by(Mention.assignee_id)
    ).all()
    return {int(staff_id or 0): int(n) for staff_id, n in rows}


def on_duty(session: Session, team_ids: Iterable[int]) -> dict[int, list[Staff]]:
    """Each team's people who may be given its mentions, whatever the language and their load:
    active, on duty, in a replying role; by id. Two queries for any number of teams."""
    ids = sorted(set(team_ids))
    if not ids:
        return {}
    extra: dict[int, list[int]] = {}
    for staff_id, team_id in session.execute(
        select(StaffTeam.staff_id, StaffTeam.team_id).where(StaffTeam.team_id.in_(ids))
    ):
        extra.setdefault(staff_id, []).append(team_id)
    people = session.scalars(
        select(Staff)
        .where(
            or_(Staff.team_id.in_(ids), Staff.id.in_(sorted(extra))),
            Staff.active.is_(True),
            Staff.on_duty.is_(True),
            Staff.role.in_(REPLY_ROLES),
        )
        .order_by(Staff.id)
    )
    teams: dict[int, list[Staff]] = {t: [] for t in ids}
    for person in people:
        for t in {person.team_id, *extra.get(person.id, ())}:
            if t in teams:
                teams[t].append(person)
    return teams


def eligible(session: Session, team_id: int, language: str | None) -> list[Staff]:
    """People who may be given a new mention of the team in ``language``, by id."""
    people = [p for p in on_duty(session, [team_id])[team_id] if speaks(p, language)]
    loads = open_counts(session, [p.id for p in people])
    return [p for p in people if p.open_cap is None or loads.get(p.id, 0) < p.open_cap]


def lock_for_assignment(session: Session, team_ids: Iterable[int]) -> list[Team]:
    """Lock the teams and their members (PostgreSQL ``FOR UPDATE``; see the module docstring)
    and return the teams, re-read so ``rr_last_staff_id`` is current."""
    ids = sorted(set(team_ids))
    if not ids:
        return []
    teams = list(
        session.scalars(
            select(Team)
            .where(Team.id.in_(ids))
            .order_by(Team.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if session.get_bind().dialect.name == "sqlite":
        return teams  # the writer lock is the whole database's (see the module docstring)
    members = sorted(team_member_ids(session, ids))
    if members:
        session.execute(
            select(Staff.id).where(Staff.id.in_(members)).order_by(Staff.id).with_for_update()
        ).all()
    return teams


def pick(
    session: Session,
    team: Team,
    language: str | None,
    policy: str,
    exclude: Iterable[int] = (),
) -> Pick | None:
    """The person ``policy`` gives the team's next mention to, or None (manual, or nobody free).

    Round robin moves the team's pointer to the person chosen. The caller holds the locks of
    ``lock_for_assignment``."""
    if policy not in ("round_robin", "least_loaded"):
        return None
    skip = set(exclude)
    people = [p for p in eligible(session, team.id, language) if p.id not in skip]
    loads = open_counts(session, [p.id for p in people]) if policy == "least_loaded" else {}
    return _choose(team, people, policy, loads)


def _choose(team: Team, people: list[Staff], policy: str, loads: Mapping[int, int]) -> Pick | None:
    """The person ``policy`` picks among ``people`` (eligible, by id); round robin moves the
    team's pointer."""
    if not people:
        return None
    if policy == "round_robin":
        last = team.rr_last_staff_id
        after = [p for p in people if last is not None and p.id > last]
        chosen = after[0] if after else people[0]
        team.rr_last_staff_id = chosen.id
        why = f"round robin: next after #{last}" if last is not None else "round robin: first"
        return Pick(chosen, why)
    chosen = min(people, key=lambda p: (loads.get(p.id, 0), p.id))
    return Pick(chosen, f"least loaded: {loads.get(chosen.id, 0)} open")


def rule_policies(rules: Iterable[object], mentions: Iterable[Mention]) -> dict[int, str | None]:
    """Each mention's policy from the routing rule that placed it (None: the team's policy).

    ``rules`` are the compiled rules ingest routed with (``.rule`` is the RoutingRule)."""
    by_rule = {
        c.rule.id: c.rule.assignment  # type: ignore[attr-defined]
        for c in rules
    }
    return {
        m.id: by_rule.get((m.routing_why or {}).get("rule_id"))  # type: ignore[arg-type]
        for m in mentions
    }


def assign_new(
    session: Session, mentions: list[Mention], policies: Mapping[int, str | None]
) -> int:
    """Give freshly ingested mentions to someone by policy; returns how many were assigned.

    ``policies`` maps a mention id to its routing rule's policy; None or missing means the
    team's own. Mentions already assigned (a follow-up keeps its owner), closed, or without a
    team are left alone, and so is a mention nobody eligible can take: it stays in the team's
    pool. Each assignment is audited as ``mention.auto_assigned`` with the policy and why."""
    todo = [
        m
        for m in mentions
        if m.assignee_id is None
        and m.team_id is not None
        and m.status != MentionStatus.CLOSED
        and not (m.customer is not None and m.customer.blocked)  # blocked: never auto-assigned
    ]
    if not todo:
        return 0
    teams = {t.id: t for t in lock_for_assignment(session, {m.team_id for m in todo if m.team_id})}
    # Who is on duty is read once for every team, each person's open count once, and both are
    # kept current in memory as the batch assigns: the locks taken above hold for the whole
    # batch, so nobody else changes them meanwhile (three queries a mention otherwise). The
    # caps are applied to the counts in memory, which include this batch's assignments.
    staff = on_duty(session, teams)
    rosters: dict[tuple[int, str | None], list[Staff]] = {}
    loads: dict[int, int] = {}
    events: list[tuple[str, str, int, int | None, dict[str, object]]] = []
    for m in todo:
        team = teams.get(m.team_id)  # type: ignore[arg-type]
        if team is None:
            continue
        policy = policies.get(m.id) or team.assignment_policy
        if policy not in ("round_robin", "least_loaded"):
            continue
        key = (team.id, m.language)
        if key not in rosters:
            rosters[key] = [p for p in staff[team.id] if speaks(p, m.language)]
            new = [p.id for p in rosters[key] if p.id not in loads]
            loads.update(dict.fromkeys(new, 0) | open_counts(session, new))
        people = [p for p in rosters[key] if p.open_cap is None or loads[p.id] < p.open_cap]
        chosen = _choose(team, people, policy, loads)
        if chosen is None:
            continue
        m.assignee_id = chosen.staff.id
        loads[chosen.staff.id] += 1
        old = m.status
        if old == MentionStatus.NEW:
            m.status = MentionStatus.OPEN.value
        events.append(
            (
                "mention.auto_assigned",
                "mention",
                m.id,
                None,
                {
                    "policy": policy,
                    "assignee": chosen.staff.id,
                    "why": chosen.why,
                    "status_from": old,
                    "status_to": m.status,
                },
            )
        )
    append_events(session, events)
    return len(events)
