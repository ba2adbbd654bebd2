"""The ``hub`` command: init, create-user, demo, run, serve, worker, poll, policy, deploy-files."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

import policies
from hub import create_app
from hub.compliance.packs import active_pack, active_version
from hub.db import job_session
from hub.models import ROLES
from hub.platforms.accounts import (
    AccountError,
    account_fields,
    available_platforms,
    create_account,
)
from hub.platforms.polling import poll_all
from hub.platforms.registry import connector_for
from hub.platforms.scheduler import build_scheduler


def _app() -> Flask:
    return create_app()


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Kestrel engagement hub."""
    ctx.ensure_object(dict)["policy_pack"] = _active_pack


def _active_pack() -> tuple[policies.Pack, str] | None:
    """``hub policy`` runs the version the hub's database has active, as the hub does."""
    app = _app()
    try:
        with job_session(app) as session:
            row = active_version(session)
            if row is None:
                return None
            pack = active_pack(session)
            when = row.activated_at.strftime("%Y-%m-%d %H:%M UTC") if row.activated_at else "?"
            return pack, f"version {row.id} active in the hub's database since {when}"
    except SQLAlchemyError:  # no database yet (before hub init): the shipped default
        return None


@main.command()
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from hub.db import refresh_statistics
    from hub.migrate import upgrade

    app = _app()
    upgrade(app.extensions["hub.engine"])
    refresh_statistics(app.extensions["hub.engine"], force=True)
    click.echo(f"database ready: {app.extensions['hub.engine'].url.render_as_string()}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--languages", default="en", help="comma-separated, e.g. en,es")
@click.option("--team", default=None, metavar="SLUG", help="home team, e.g. es-latam")
@click.password_option()
def create_user(
    email: str, name: str, role: str, languages: str, team: str | None, password: str
) -> None:
    """Add a staff member (the password obeys the same rules as the web pages)."""
    from sqlalchemy import select

    from hub.auth import create_staff
    from hub.errors import UserError
    from hub.models import Team

    app = _app()
    try:
        with job_session(app) as session:
            team_id = None
            if team:
                team_id = session.scalar(select(Team.id).where(Team.slug == team.strip()))
                if team_id is None:
                    slugs = ", ".join(session.scalars(select(Team.slug).order_by(Team.slug)))
                    raise UserError(f"There is no team {team!r} (teams: {slugs or 'none yet'}).")
            create_staff(
                session,
                email,
                name,
                role,
                password,
                [lang.strip() for lang in languages.split(",") if lang.strip()],
                team_id,
            )
    except UserError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {role} {email}")


@main.command("set-password")
@click.option("--email", required=True)
@click.password_option()
def set_password(email: str, password: str) -> None:
    """Give a staff member a new password (their sessions end)."""
    from sqlalchemy import func, select

    from hub.audit import record_event
    from hub.auth import change_password
    from hub.errors import UserError
    from hub.models import Staff

    app = _app()
    try:
        with job_session(app) as session:
            staff = session.scalar(
                select(Staff).where(func.lower(Staff.email) == email.strip().lower())
            )
            if staff is None:
                raise UserError(f"There is no account for {email}.")
            change_password(session, staff, password)
            record_event(session, "staff.password_set", "staff", staff.id, None, via="cli")
    except UserError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"new password set for {email}; their sessions have ended")


@main.command()
def demo() -> None:
    """Load the demo company (teams, rules, one account per role, sandbox customers)."""
    from hub.demo import demo_loaded, load_demo

    app = _app()
    with job_session(app) as session:
        already = demo_loaded(session)
        accounts = load_demo(session, app, Path(app.instance_path) / "demo-accounts.txt")
    if already:
        click.echo("The demo is already in this database.")
    if accounts:
        click.echo("Demo accounts (sign in at http://127.0.0.1:5000):")
        for role, email, password in accounts:
            click.echo(f"  {role:<11} {email:<28} password: {password}")
    elif already:
        click.echo(
            "Its passwords were printed when it was loaded; give an account a new one with "
            "`hub set-password --email ...`."
        )


def _server_options(f: Any) -> Any:
    for option in reversed(
        (
            click.option("--host", default="127.0.0.1", show_default=True),
            click.option("--port", default=5000, type=int, show_default=True),
            click.option(
                "--workers",
                type=click.IntRange(min=0),
                default=None,
                help="web processes (default: SERVER_WORKERS; 0 = one per CPU)",
            ),
            click.option(
                "--threads",
                type=click.IntRange(min=1),
                default=None,
                help="threads per web process (default: SERVER_THREADS)",
            ),
        )
    ):
        f = option(f)
    return f


def _serve(host: str, port: int, workers: int | None, threads: int | None, scheduler: bool) -> None:
    """gunicorn (hub.server) on host:port, with a supervised ``hub worker`` if ``scheduler``."""
    from hub.server import HubServer, SchedulerChild, plan, scheduler_argv

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = _app().config
    shape = plan(config, host, port, workers, threads)
    child = SchedulerChild(scheduler_argv()) if scheduler else None
    with_scheduler = " and the scheduler (hub worker)" if scheduler else ""

    def ready() -> None:
        click.echo(f"serving the hub on http://{shape.bind}: {shape.describe()}{with_scheduler}")

    HubServer(create_app, shape, child, on_ready=ready).run()
    click.echo("stopped")


@main.command()
@_server_options
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the web app only (gunicorn: processes x threads); run `hub worker` for the
    scheduler. SIGTERM stops it gracefully (requests in flight finish), Ctrl-C at once."""
    _serve(host, port, workers, threads, scheduler=False)


@main.command()
@_server_options
@click.option("--no-scheduler", is_flag=True, help="web only, as `hub serve`")
def run(host: str, port: int, workers: int | None, threads: int | None, no_scheduler: bool) -> None:
    """Serve the hub (as `hub serve`) and run its scheduler (polling, push streams, sending) in
    a child `hub worker` process, restarted if it dies. SIGTERM or Ctrl-C stops both cleanly
    (streams marked disconnected)."""
    _serve(host, port, workers, threads, scheduler=not no_scheduler)


@main.command()
def worker() -> None:
    """Run only the scheduler (polling, push streams and sending). On PostgreSQL run as many
    as you like (each account has one poller at a time, each reply one sender, and the
    once-a-cluster jobs one leader); on SQLite exactly one runs. SIGTERM stops it cleanly
    (streams marked disconnected)."""
    import signal
    import time

    from hub.engagement.ingest import prepare_process
    from hub.platforms.leases import SchedulerBusy, scheduler_slot

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        app = _app()
        with scheduler_slot(app):
            prepare_process()  # once the slot is ours: a refused second worker loads nothing
            scheduler = build_scheduler(app)
            try:
                scheduler.start()
                click.echo("scheduler running")
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                if scheduler.running:
                    scheduler.shutdown()
    except SchedulerBusy as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C before the scheduler started
        pass
    click.echo("scheduler stopped")


@main.command("deploy-files")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="overwrite files that are already there")
def deploy_files(directory: str, force: bool) -> None:
    """Write the deployment files (systemd units, an nginx site, a compose file) into DIRECTORY."""
    from hub.deploy import DeployError, write_files

    try:
        written = write_files(Path(directory), force=force)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.option("--once", is_flag=True, required=True, help="poll every active account once")
def poll(once: bool) -> None:
    """Poll every active account now and print what came in."""
    outcomes = poll_all(_app(), force=True)
    failed = False
    for o in outcomes:
        if o.result is not None:
            click.echo(
                f"account {o.account_id}: {o.result.inserted} new, {o.result.duplicates} repeats"
            )
        else:
            failed = True
            click.echo(f"account {o.account_id}: {o.error}", err=True)
    if failed:
        sys.exit(1)


@main.command()
def send() -> None:
    """Send every due outbox item now."""
    from hub.publishing.outbox import send_due

    click.echo(send_due(_app()))


@main.command("add-account")
@click.option("--platform", required=True, help="a platform the PLATFORMS setting loads")
@click.option("--handle", required=True)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="plain settings, e.g. service=https://bsky.social",
)
def add_account(platform: str, handle: str, settings: tuple[str, ...]) -> None:
    """Connect a company account; secrets are asked for and stored encrypted."""
    app = _app()
    known = available_platforms()
    if platform not in known:
        choices = ", ".join(repr(p) for p in known)
        raise click.BadParameter(
            f"{platform!r} is not one of {choices}.", param_hint="'--platform'"
        )
    config = {"handle": handle} | dict(s.split("=", 1) for s in settings if "=" in s)
    secrets = {}
    for field in account_fields(platform):
        if field.secret:
            value = click.prompt(field.label, hide_input=True, default="", show_default=False)
            if value:
                secrets[field.name] = value
    with job_session(app) as session:
        try:
            account = create_account(session, app, platform, handle, config, secrets)
        except AccountError as exc:
            raise click.ClickException(exc.message) from None
        try:
            who = connector_for(app, account).verify()
        except Exception as exc:  # report any failure in words, keep the account to fix later
            click.echo(f"saved, but the connection test failed: {exc}", err=True)
        else:
            click.echo(f"connected {platform} account {who}")


@main.group()
def audit() -> None:
    """The audit trail: verify the hash chain, apply retention, export archives."""


@audit.command("verify")
@click.option("--batch", default=20_000, show_default=True, help="rows fetched per round trip")
def audit_verify(batch: int) -> None:
    """Recompute every event's hash; name the first broken link (exit 1) or say it is intact."""
    from hub.audit import describe, known_head, load_last_verify, save_last_verify, verify_app_chain

    app = _app()
    result = verify_app_chain(
        app, batch=batch, known_head=known_head(load_last_verify(app.instance_path))
    )
    save_last_verify(app.instance_path, result)
    click.echo(f"{describe(result)} ({result.seconds:.2f}s)")
    if result.brk is not None:
        sys.exit(1)


@audit.command("purge")
@click.option("--dry-run", is_flag=True, help="show what would be deleted, delete nothing")
def audit_purge(dry_run: bool) -> None:
    """Delete records older than the retention period, except those under legal hold."""
    from hub.compliance.retention import RetentionError, purge

    app = _app()
    try:
        with job_session(app) as session:
            report = purge(session, dry_run=dry_run)
    except RetentionError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"retention {report.years} years: cutoff {report.cutoff:%Y-%m-%d %H:%M} UTC, "
        f"{report.active_holds} active legal hold(s)"
    )
    for table, n in report.counts().items():
        click.echo(f"  {verb} {n:>9,} {table}")
    click.echo(f"  kept {report.held_items:>9,} old outbound items under legal hold")
    if report.anchor:
        click.echo(f"  audit chain anchored at event #{report.anchor['id']}")


@audit.command("export")
@click.option("--employee", metavar="EMAIL", help="only this employee's records")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC)")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day, inclusive")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.zip")
def audit_export(employee: str | None, start: Any, end: Any, output: str) -> None:
    """Write a self-describing archive (JSON lines, CSV, manifest with hashes)."""
    from datetime import UTC, timedelta

    from sqlalchemy import func, select

    from hub.compliance.archive import ArchiveError, export_archive
    from hub.models import Staff

    start_at = start.replace(tzinfo=UTC) if start else None
    end_at = end.replace(tzinfo=UTC) + timedelta(days=1) if end else None
    app = _app()
    try:
        with job_session(app) as session:
            staff_id = None
            if employee:
                staff_id = session.scalar(
                    select(Staff.id).where(func.lower(Staff.email) == employee.strip().lower())
                )
                if staff_id is None:
                    raise ArchiveError(f"no staff member with the email {employee}")
            summary = export_archive(session, output, staff_id, start_at, end_at)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = ", ".join(f"{n:,} {t}" for t, n in summary.rows.items())
    click.echo(f"wrote {summary.path}: {rows}")
    click.echo(f"manifest sha256 {summary.manifest_sha256}")
    if not summary.chain["ok"]:
        click.echo(f"warning: hash mismatches in {summary.chain['hash_mismatch_ids']}", err=True)


@main.group()
def reports() -> None:
    """Policy reports."""


@reports.command("daily")
@click.option("--day", default=None, metavar="YYYY-MM-DD", help="default: yesterday (UTC)")
def reports_daily(day: str | None) -> None:
    """Store the daily policy summary for one day (the scheduler does yesterday at 00:05 UTC)."""
    from datetime import timedelta

    from hub.compliance.reports import ReportInputError, parse_day, store_daily_summary
    from hub.models import utcnow

    try:
        when = parse_day(day) if day else (utcnow() - timedelta(days=1)).date()
    except ReportInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--day") from None
    with job_session(_app()) as session:
        data = store_daily_summary(session, when).data
    click.echo(f"stored the summary for {when}:")
    click.echo(json.dumps(data, indent=2, default=str))


@reports.command("recount")
def reports_recount() -> None:
    """Recount the report rollups from the stored decisions and posts (after rows were written
    around the hub's ORM, e.g. a bulk import; the hub keeps them up to date by itself otherwise)."""
    from hub.compliance.rollups import rebuild

    with job_session(_app()) as session:
        rebuild(session.connection())
    click.echo("recounted the report rollups")


@main.group()
def route() -> None:
    """Triage and routing of inbound mentions."""


@route.command("eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="one JSON object on standard output")
@click.option("--misses", is_flag=True, help="also list every mention routed differently")
def route_eval(path: str, as_json: bool, misses: bool) -> None:
    """Run ingest's attribute and routing path on labelled mentions (the format of
    ../shared/data/mentions/public.jsonl) with the demo company's rules, and print the scores."""
    from hub.demo import demo_data
    from hub.engagement.route_eval import evaluate, read_rows

    try:
        rows = read_rows(path)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PATH") from None
    result = evaluate(rows, demo_data())
    if not misses:
        result.pop("misses")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for part in ("held_out", "development"):
        if result.get(part):
            f = result[part]
            click.echo(
                f"{part.replace('_', '-')} ({f['n']}): team {f['team_accuracy']:.3f}, "
                f"priority {f['priority_accuracy']:.3f}, p1 recall {f['p1_recall']}, "
                f"language {f['language_accuracy']:.3f}, intent {f['intent_accuracy']:.3f}"
            )
    click.echo(
        f"all ({result['n']}): team {result['team_accuracy']:.3f}, "
        f"priority {result['priority_accuracy']:.3f}, p1 recall {result['p1_recall']}, "
        f"language {result['language_accuracy']:.3f}, intent {result['intent_accuracy']:.3f}, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
    )
    for miss in result.get("misses", []):
        click.echo(json.dumps(miss, ensure_ascii=False))


@main.group()
def customer() -> None:
    """Customers: one person across platforms."""


@customer.command("link-certain")
def customer_link_certain() -> None:
    """Merge customers who are certainly one person (the same order number or e-mail); ingest
    does this as mentions arrive, this catches up mentions stored before it did."""
    from hub.customers.linking import link_certain

    app = _app()
    with job_session(app) as session:
        merged = link_certain(session)
    click.echo(f"{len(merged)} customers merged")


@customer.command("show")
@click.argument("handle")
@click.option("--json", "as_json", is_flag=True, help="print the profile as JSON")
def customer_show(handle: str, as_json: bool) -> None:
    """A customer's profile, found by any of their handles."""
    from hub.customers.present import profile_document
    from hub.customers.profiles import customer_by_handle

    app = _app()
    with app.app_context(), job_session(app) as session:
        found = customer_by_handle(session, handle)
        if found is None:
            raise click.ClickException(f"No customer with the handle {handle}.")
        doc = profile_document(session, found)
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    click.echo(f"{doc['display_name']} (#{doc['id']})")
    for i in doc["identities"]:
        click.echo(f"  {i['platform']}: @{i['handle']}")
    for f in doc["facts"]:
        click.echo(f"  {f['kind']}: {f['value']}")
    for o in doc["orders"]:
        click.echo(f"  order {o['number']}: {o['status']}")


def _mount_policy() -> None:
    try:
        from policies import cli_group

        policy = cli_group()
    except ImportError:  # the policy CLI is optional at import time only during development
        return
    main.add_command(policy)


_mount_policy()


if __name__ == "__main__":
    main()
