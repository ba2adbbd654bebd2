"""The job list: every job under its stable id with its timing; nothing runs until started."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.compliance.reports import run_daily_summary
from hub.compliance.retention import run_retention
from hub.db import refresh_statistics_job
from hub.engagement.deadlines import run_deadlines
from hub.engagement.teamwork import run_task_deadlines
from hub.platforms.polling import poll_all
from hub.platforms.push import PUSH_SYNC_SECONDS, sync_streams
from hub.platforms.scheduler import JOBS, build_scheduler
from hub.publishing.outbox import send_due
from hub.webhooks.delivery import run_deliveries


def _timing(job: Any) -> Any:
    trigger = job.trigger
    if isinstance(trigger, IntervalTrigger):
        return ("every", trigger.interval)
    assert isinstance(trigger, CronTrigger)
    fields = {f.name: str(f) for f in trigger.fields if f.name in ("hour", "minute")}
    return ("daily at", f"{int(fields['hour']):02d}:{int(fields['minute']):02d}")


def test_jobs_keep_their_ids_functions_and_timing(app: Any) -> None:
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert list(jobs) == [
        "push",
        "poll",
        "send",
        "deadlines",
        "task-deadlines",
        "statistics",
        "webhooks",
        "retention",
        "daily-summary",
    ]
    assert {i: _timing(j) for i, j in jobs.items()} == {
        "push": ("every", timedelta(seconds=PUSH_SYNC_SECONDS)),
        "poll": ("every", timedelta(seconds=1)),
        "send": ("every", timedelta(seconds=app.config["SEND_SECONDS"])),
        "deadlines": ("every", timedelta(seconds=app.config["SLA_SWEEP_SECONDS"])),
        "task-deadlines": ("every", timedelta(seconds=app.config["SLA_SWEEP_SECONDS"])),
        "statistics": ("every", timedelta(seconds=60)),
        "webhooks": ("every", timedelta(seconds=app.config["WEBHOOKS_SECONDS"])),
        "retention": ("daily at", "03:15"),
        "daily-summary": ("daily at", "00:05"),
    }
    assert {i: j.func for i, j in jobs.items()} == {
        "push": sync_streams,
        "poll": poll_all,
        "send": send_due,
        "deadlines": run_deadlines,
        "task-deadlines": run_task_deadlines,
        "statistics": refresh_statistics_job,
        "webhooks": run_deliveries,
        "retention": run_retention,
        "daily-summary": run_daily_summary,
    }
    for job in jobs.values():
        assert job.args == (app,)
        assert (job.max_instances, job.coalesce) == (1, True)
    assert jobs["retention"].misfire_grace_time == jobs["daily-summary"].misfire_grace_time == 3600
    # push, poll and send also run as soon as the scheduler starts; the rest wait for their time
    first_run_set = {i for i, j in jobs.items() if getattr(j, "next_run_time", None) is not None}
    assert first_run_set == {"push", "poll", "send"}
    assert not scheduler.running


def test_send_interval_follows_the_setting(app: Any) -> None:
    app.config["SEND_SECONDS"] = 7
    send = build_scheduler(app).get_job("send")
    assert send.trigger.interval == timedelta(seconds=7)


@pytest.mark.parametrize(("seconds", "runs"), [(None, False), (0, False), (30, True), ("45", True)])
def test_demo_trickle_only_when_its_interval_is_set(app: Any, seconds: Any, runs: bool) -> None:
    if seconds is None:
        app.config.pop("DEMO_TRICKLE_SECONDS", None)
    else:
        app.config["DEMO_TRICKLE_SECONDS"] = seconds
    trickle = build_scheduler(app).get_job("demo-trickle")
    assert (trickle is not None) is runs
    if trickle is not None:
        assert trickle.trigger.interval == timedelta(seconds=int(seconds))
        assert trickle.func_ref == "hub.demo:trickle_one"


def test_every_job_id_is_unique_and_every_reference_resolves(app: Any) -> None:
    assert len({job.id for job in JOBS}) == len(JOBS)
    app.config["DEMO_TRICKLE_SECONDS"] = 60  # so every job of the list is built
    assert [j.id for j in build_scheduler(app).get_jobs()] == [job.id for job in JOBS]


def test_create_app_starts_no_job(app: Any) -> None:
    # the scheduler (and with it the stream supervisor) exists only once a command builds it
    assert "hub.push" not in app.extensions
