"""The hub in a Spanish-speaking agent's language, and on a phone, in real Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

PHONE = {"width": 390, "height": 844}


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "password123")
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(f"{base}/queue")


def _customer_posts(page: Page, base: str, text: str) -> None:
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=handle]", "lucia_m")
    page.fill("textarea[name=text]", text)
    page.locator("form.sandbox-post button[type=submit]").click()
    expect(page.locator(".thread li.in .text")).to_have_text(text)


def test_a_spanish_speaking_agent_works_in_spanish(  # type: ignore[no-untyped-def]
    app, hub_server, open_page, make_staff, reload_until, screenshots
):
    from hub.db import job_session
    from hub.models import Staff, Team

    base, _manager = hub_server
    agent = make_staff("employee", name="Lucía Gómez", email="lucia@example.test")
    with job_session(app) as s:
        # on the Spanish team, whose queue she sees; the team assigns by hand, so she claims
        spanish = s.query(Team).filter_by(slug="spanish").one()
        spanish.assignment_policy = "manual"
        s.get(Staff, agent.id).locale = "es"
        s.get(Staff, agent.id).team_id = spanish.id
    # the browser asks for English: the person's own setting wins
    page = open_page(locale="en-US", viewport={"width": 1280, "height": 800})
    _customer_posts(page, base, "@KestrelFootwear ¿dónde está mi pedido? Llevo una semana así")

    _sign_in(page, base, agent.email)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("header nav")).to_contain_text("Cola")
    expect(page.locator("header nav")).to_contain_text("Mis publicaciones")
    expect(page.locator("h1")).to_have_text("Cola")
    expect(page.locator("form.filters button")).to_have_text("Filtrar")
    reload_until(page, "tr[data-mention]")
    expect(page.locator("table.queue thead")).to_contain_text("Asignado a")
    row = page.locator("tr[data-mention]").first
    expect(row.locator("button")).to_have_text("Tomar")
    page.screenshot(path=str(screenshots / "queue-es.png"), full_page=True)

    row.locator("a").first.click()
    expect(page.locator("main")).to_contain_text("Toma esta mención para responder.")
    page.locator("aside button", has_text="Tomar").click()
    expect(page.locator("#assignee")).to_have_text("Lucía Gómez")
    page.wait_for_load_state()  # htmx binds the live check before "load"
    expect(page.locator("main h2").first).to_have_text("Hilo")
    composer = page.locator("form.composer")
    expect(composer.locator("button[type=submit]")).to_have_text("Comprobar y enviar")
    expect(composer.locator("textarea")).to_have_attribute(
        "placeholder", "Escribe tu respuesta a @lucia_m"
    )
    composer.locator("textarea").fill(
        "¡Hola Lucía! Perdona la espera: lo he mirado y tu pedido llega el jueves."
    )
    expect(page.locator("#check .verdict")).to_have_text("Todo bien")
    page.screenshot(path=str(screenshots / "composer-es.png"), full_page=True)
    composer.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_have_text("Respuesta comprobada y en camino.")


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def test_queue_mention_and_composers_fit_a_phone(  # type: ignore[no-untyped-def]
    hub_server, open_page, reload_until, screenshots
):
    base, manager = hub_server
    page: Any = open_page(viewport=PHONE, locale="es-ES", is_mobile=True, has_touch=True)
    _customer_posts(
        page,
        base,
        "@KestrelFootwear my Cirrus Runners split at the seam after two weeks, "
        "order KF-1234-5678, what can you do? https://example.com/a/very/long/path/to/a/photo",
    )
    _sign_in(page, base, manager.email)
    reload_until(page, "tr[data-mention]")
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "phone-queue.png"), full_page=True)

    page.locator("tr[data-mention] a").first.click()
    page.locator("aside button", has_text="Tomar").click()
    # the claim reloads the page: typing before it has would type into the page it replaces
    expect(page.locator("#assignee")).to_have_text("Morgan Reyes")
    page.wait_for_load_state()  # htmx binds the live check before "load"
    page.locator("form.composer textarea").fill(
        "Hola, lo siento mucho: escríbenos por mensaje directo con tu número de pedido."
    )
    expect(page.locator("#check [data-verdict]")).to_be_visible(timeout=15_000)
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "phone-mention.png"), full_page=True)

    page.goto(f"{base}/posts/new")
    page.fill("#post-text", "Took my new Cirrus Runners out for a rainy 10k this morning!")
    expect(page.locator("#check [data-verdict]")).to_be_visible(timeout=15_000)
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "phone-post.png"), full_page=True)


def test_the_policy_page_reads_at_a_normal_width(  # type: ignore[no-untyped-def]
    hub_server, open_page, make_staff, screenshots
):
    base, _manager = hub_server
    officer = make_staff("compliance", name="Casey Ortiz", email="casey@example.test")
    page: Any = open_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{base}/login")
    page.fill("input[name=email]", officer.email)
    page.fill("input[name=password]", "password123")
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.goto(f"{base}/policy/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # a word list shows its first entries; the rest unfold as a list that wraps inside its cell
    more = page.locator("#rule-g3-offensive details.more").first
    entries = more.locator("> ul.entries")
    expect(entries).to_be_hidden()
    more.locator("> summary").click()
    expect(entries).to_be_visible()
    assert entries.evaluate("e => e.scrollWidth <= e.clientWidth")
    rows = entries.evaluate("e => new Set([...e.children].map(li => li.offsetTop)).size")
    assert rows > 3
    # regular expressions wait behind "show pattern"
    pattern = page.locator("#rule-g5-customer-data details.pattern").first
    expect(pattern.locator("code")).to_be_hidden()
    pattern.locator("summary").click()
    expect(pattern.locator("code")).to_be_visible()
    page.locator("#rule-g5-customer-data").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "policy.png"))
