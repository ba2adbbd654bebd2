"""A manager leaves an internal note naming a teammate and gives them a follow-up task; the
teammate sees both in their notifications and marks the task done from My tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect


def test_note_and_task_on_a_mention(
    app, hub_server, make_staff, open_page, reload_until, screenshots
):  # type: ignore[no-untyped-def]
    base, manager = hub_server
    mate = make_staff("employee", name="Ana Ruiz", email="ana.ruiz@example.test")
    page = open_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "dana_kruger")
    page.fill("input[name=display_name]", "Dana Krüger")
    page.fill("textarea[name=text]", "@KestrelFootwear my parcel never arrived, order KF-20481736")
    page.click("text=Post as a customer")

    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", "password123")
    page.click("button:has-text('Sign in')")
    reload_until(page, "tr[data-mention]")
    page.locator("tr[data-mention]").first.locator("a").first.click()

    page.fill(
        ".note-form textarea[name=text]", "@ana.ruiz can you ask the carrier? <b>not bold</b>"
    )
    page.click("button:has-text('Add internal note')")
    note = page.locator(".internal-note").last
    expect(note).to_contain_text("can you ask the carrier? <b>not bold</b>")
    expect(note).to_contain_text("Told: Ana Ruiz")

    due = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill(".task-form input[name=title]", "Call Dana back with the carrier's answer")
    page.select_option(".task-form select[name=owner]", label="Ana Ruiz")
    page.fill(".task-form input[name=due]", due)
    page.click("button:has-text('Add task')")
    expect(page.locator("#tasks li.task")).to_contain_text("Call Dana back")
    page.locator("#notes").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "notes-tasks.png"), full_page=True)

    other = open_page(viewport={"width": 1280, "height": 800})
    other.goto(f"{base}/login")
    other.fill("input[name=email]", mate.email)
    other.fill("input[name=password]", "password123")
    other.click("button:has-text('Sign in')")
    expect(other.locator("a.notes")).to_contain_text("Notifications (2)")
    other.click("a:has-text('My tasks')")
    row = other.locator("li.task").first
    expect(row).to_contain_text("Call Dana back")
    row.locator("button:has-text('Mark done')").click()
    expect(other.locator(".flash")).to_contain_text("Task done.")
    expect(other.locator("li.task")).to_have_count(0)
