"""The hub's periodic jobs, declared in one list (``JOBS``) with stable ids.

Started only by ``hub worker`` (``hub run`` starts one as a child), never by create_app, or every
web worker would run every job. Each job is a function of the app named "package.module:function";
APScheduler imports it when the scheduler is built, so this module needs none of the wings it
schedules.

Several workers may run on PostgreSQL. Polling and push hold a lease per account, and sending
claims each row (hub/platforms/leases.py, hub/publishing/outbox.py), so every worker runs those.
A job marked ``once_per_cluster`` runs only in the leader (``Leadership``); a worker that is not
the leader skips its turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from hub.models import utcnow
from hub.platforms.leases import Leadership
from hub.platforms.push import PUSH_SYNC_SECONDS, start_push


@dataclass(frozen=True)
class Setting:
    """A trigger argument read from the app's config when the scheduler is built."""

    name: str
    #: applied to the configured value (a setting from a config file may be text)
    cast: Callable[[Any], Any] | None = None

    def read(self, config: Mapping[str, Any]) -> Any:
        """The setting's value in ``config``."""
        value = config[self.name]
        return self.cast(value) if self.cast else value


def _always(config: Mapping[str, Any]) -> bool:
    return True


def _demo_trickle_on(config: Mapping[str, Any]) -> bool:
    return int(config.get("DEMO_TRICKLE_SECONDS") or 0) > 0


@dataclass(frozen=True)
class JobSpec:
    """One periodic job: its stable id, what runs, when, and whether this app runs it."""

    #: the job's name for APScheduler and the logs; never change it
    id: str
    #: "package.module:function", called with the app
    func: str
    #: an APScheduler trigger: "interval" or "cron"
    trigger: str
    #: the trigger's arguments (seconds=..., hour=...); a ``Setting`` comes from the app's config
    timing: Mapping[str, Any]
    #: run once as soon as the scheduler starts, not only when the first interval is over
    run_at_start: bool = False
    #: how late (seconds) a missed run may still start, e.g. after a restart; None: the default
    misfire_grace_time: int | None = None
    #: whether an app with this config runs the job at all
    enabled: Callable[[Mapping[str, Any]], bool] = field(default=_always)
    #: run by the cluster's leader only (a job with no per-row or per-account guard of its own,
    #: or one whose second run would repeat something outside the database)
    once_per_cluster: bool = False

    def options(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``add_job`` besides the function and the trigger."""
        options: dict[str, Any] = {
            name: value.read(config) if isinstance(value, Setting) else value
            for name, value in self.timing.items()
        }
        options |= {"id": self.id, "max_instances": 1, "coalesce": True}
        if self.run_at_start:
            options["next_run_time"] = utcnow()
        if self.misfire_grace_time is not None:
            options["misfire_grace_time"] = self.misfire_grace_time
        if self.once_per_cluster:
            options["executor"] = LEADER_EXECUTOR
        return options


JOBS: tuple[JobSpec, ...] = (
    # starts and stops the stream consumers (PushSupervisor); they stop with the scheduler
    JobSpec(
        "push",
        "hub.platforms.push:sync_streams",
        "interval",
        {"seconds": PUSH_SYNC_SECONDS},
        run_at_start=True,
    ),
    # Every second: each account keeps its own next_poll_at, and a coarser tick rounds every
    # interval up to the tick (15 s polls on a 5 s tick ran every 20 s).
    JobSpec(
        "poll",
        "hub.platforms.polling:poll_all",
        "interval",
        {"seconds": 1},
        run_at_start=True,
    ),
    JobSpec(
        "send",
        "hub.publishing.outbox:send_due",
        "interval",
        {"seconds": Setting("SEND_SECONDS")},
        run_at_start=True,
    ),
    # acts once on each missed first-response deadline (hub.engagement.deadlines)
    JobSpec(
        "deadlines",
        "hub.engagement.deadlines:run_deadlines",
        "interval",
        {"seconds": Setting("SLA_SWEEP_SECONDS", int)},
        once_per_cluster=True,
    ),
    # tells a task's owner once when it becomes overdue (hub.engagement.teamwork)
    JobSpec(
        "task-deadlines",
        "hub.engagement.teamwork:run_task_deadlines",
        "interval",
        {"seconds": Setting("SLA_SWEEP_SECONDS", int)},
        once_per_cluster=True,
    ),
    # the query planner's statistics, refreshed for each table that changed size (hub.db)
    JobSpec(
        "statistics",
        "hub.db:refresh_statistics_job",
        "interval",
        {"seconds": 60},
        once_per_cluster=True,
    ),
    JobSpec(
        "webhooks",
        "hub.webhooks.delivery:run_deliveries",
        "interval",
        {"seconds": Setting("WEBHOOKS_SECONDS", int)},
    ),
    JobSpec(
        "retention",
        "hub.compliance.retention:run_retention",
        "cron",
        {"hour": 3, "minute": 15},
        misfire_grace_time=3600,
        once_per_cluster=True,
    ),
    JobSpec(
        "daily-summary",
        "hub.compliance.reports:run_daily_summary",
        "cron",
        {"hour": 0, "minute": 5},
        misfire_grace_time=3600,
        once_per_cluster=True,
    ),
    JobSpec(
        "demo-trickle",
        "hub.demo:trickle_one",
        "interval",
        {"seconds": Setting("DEMO_TRICKLE_SECONDS", int)},
        enabled=_demo_trickle_on,
        once_per_cluster=True,
    ),
)


#: the executor of the ``once_per_cluster`` jobs
LEADER_EXECUTOR = "leader"


def _run_if_leader(leadership: Leadership, job: Job, *args: Any) -> list[Any]:
    if not leadership.held():
        return []  # another worker leads: this turn is theirs
    return run_job(job, *args)  # type: ignore[no-any-return]


class LeaderExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """APScheduler's thread pool, running a job only while this process is the leader (asked in
    the pool's thread, so the scheduler's own thread never waits on the database)."""

    def __init__(self, leadership: Leadership, max_workers: int = 4) -> None:
        super().__init__(max_workers)
        self.leadership = leadership

    def _do_submit_job(self, job: Job, run_times: list[Any]) -> None:
        # BasePoolExecutor._do_submit_job with _run_if_leader in front of run_job
        def callback(f: Any) -> None:
            exc = f.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        f = self._pool.submit(
            _run_if_leader,
            self.leadership,
            job,
            job._jobstore_alias,
            run_times,
            self._logger.name,
        )
        f.add_done_callback(callback)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """The app's jobs from ``JOBS``, each under its stable id; not started here."""
    scheduler = BackgroundScheduler(timezone="UTC")
    leadership = Leadership(app)
    scheduler.add_executor(LeaderExecutor(leadership), LEADER_EXECUTOR)
    supervisor = start_push(app)

    def stop_push(event: SchedulerEvent) -> None:
        supervisor.stop()
        leadership.release()

    scheduler.add_listener(stop_push, EVENT_SCHEDULER_SHUTDOWN)
    for job in JOBS:
        if job.enabled(app.config):
            scheduler.add_job(job.func, job.trigger, args=[app], **job.options(app.config))
    return scheduler
