"""Reports and history lines name people; they never show a bare staff id."""

from __future__ import annotations

from hub.db import job_session
from hub.engagement.moderation import assign_mention
from hub.models import Mention, PolicyDecision, Staff


def test_the_decisions_page_names_the_author(app, client, login, make_staff):
    author = make_staff("employee", name="Priya Shah")
    with job_session(app) as s:
        s.add(
            PolicyDecision(
                author_id=author.id,
                text="Thanks for waiting!",
                verdict="allow",
                pack_version="test",
                findings=[],
                platform="sandbox",
            )
        )
    login(client, make_staff("compliance"))
    page = client.get("/decisions")
    row = page.text.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "<td>Priya Shah</td>" in row
    assert f"<td>{author.id}</td>" not in row


def test_an_assignment_names_who_got_it_on_every_history(
    app, client, login, make_staff, make_mention
):
    manager = make_staff("manager", name="Morgan Reyes")
    first = make_staff("employee", name="Priya Shah")
    second = make_staff("employee", name="Sam <i>Okafor</i>")
    mention = make_mention()
    with job_session(app) as s:
        row = s.get(Mention, mention.id)
        actor = s.get(Staff, manager.id)
        assign_mention(s, row, s.get(Staff, first.id), actor)
        assign_mention(s, row, s.get(Staff, second.id), actor)
        assign_mention(s, row, None, actor)
    login(client, make_staff("admin"))
    audit_page = client.get(f"/audit/items/mention/{mention.id}")
    assert audit_page.status_code == 200
    lines = audit_page.text.split('class="plain history audit-history"', 1)[1]
    assert lines.count("to Priya Shah") == 1
    assert lines.count("to Sam &lt;i&gt;Okafor&lt;/i&gt;") == 1  # a name is text, escaped
    assert "to the team's pool" in lines
    # the details name the previous assignee too, with the id for reference
    assert f'Priya Shah <span class="muted">(#{first.id})</span>' in lines
    conversation = client.get(f"/mentions/{mention.id}")
    history = conversation.text.split('<ul class="plain history">', 1)[1].split("</ul>", 1)[0]
    assert "to Priya Shah" in history and "to Sam &lt;i&gt;Okafor&lt;/i&gt;" in history
