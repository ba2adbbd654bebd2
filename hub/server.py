"""The hub's production server: gunicorn, embedded, and the scheduler process beside it.

``hub serve`` is gunicorn's arbiter with gthread workers (each a process with a pool of
threads); ``hub run`` is the same plus one ``hub worker`` child that the arbiter keeps alive.

The app is built in each web worker, not preloaded in the arbiter and forked: a fork copies the
database pool's open connections and whatever state native libraries (the language detector, the
models) keep, and neither is safe to share between processes; a worker that gunicorn replaces
(after a crash, or on ``kill -HUP`` to load an upgraded hub) comes up complete on its own. The
price is memory: every web worker loads and warms the policy models itself
(``bench/bench_server.py`` measures it).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.gthread import ThreadWorker

from hub.db import job_session
from hub.publishing.compose import warm_checks

log = logging.getLogger(__name__)

#: the most web worker processes the CPU count picks (each holds its own warmed models)
MAX_AUTO_WORKERS = 8
#: seconds an idle kept-alive connection stays open
KEEPALIVE_SECONDS = 5
#: seconds a worker may stay silent (blocked past all its threads) before the arbiter kills it
WORKER_TIMEOUT = 60
#: seconds a stopping worker has to finish the requests in flight
GRACEFUL_SECONDS = 20
#: the scheduler child's restart backoff: first wait, cap (seconds)
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
#: a scheduler child that ran this long was healthy: the next failure starts the backoff over
HEALTHY_SECONDS = 60.0


def cpu_count() -> int:
    """CPUs this process may run on (a container's or a cgroup's share, where Linux says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ServerPlan:
    """How many processes and threads serve, where, and their limits."""

    bind: str
    workers: int
    threads: int
    #: open connections per web worker
    connections: int
    #: seconds a connection may stay silent in the middle of a request
    client_timeout: int

    def describe(self) -> str:
        """One line for the console."""
        return (
            f"{self.workers} web process(es) x {self.threads} threads (gunicorn), "
            f"at most {self.connections} connections each"
        )


def plan(
    config: Mapping[str, Any], host: str, port: int, workers: int | None, threads: int | None
) -> ServerPlan:
    """The server's shape: options first, then the settings; 0 workers means one per CPU."""
    n = workers if workers is not None else int(config["SERVER_WORKERS"])
    if n <= 0:
        n = min(MAX_AUTO_WORKERS, cpu_count())
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return ServerPlan(
        bind=bind,
        workers=max(1, n),
        threads=max(1, threads if threads is not None else int(config["SERVER_THREADS"])),
        connections=max(1, int(config["SERVER_CONNECTION_LIMIT"])),
        client_timeout=max(1, int(config["SERVER_CHANNEL_TIMEOUT"])),
    )


def gunicorn_settings(p: ServerPlan) -> dict[str, Any]:
    """gunicorn's settings for a plan (see the README, "Running it for real")."""
    tmp = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat files off the disk
    return {
        "bind": [p.bind],
        "workers": p.workers,
        "threads": p.threads,
        "worker_class": "hub.server.HubThreadWorker",
        "worker_connections": p.connections,
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        # the request line and headers: bounded so a client cannot make a worker buffer much
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        # The hub's own TRUSTED_PROXIES (werkzeug's ProxyFix) decides which forwarding headers
        # to believe; gunicorn would otherwise believe X-Forwarded-Proto from any local client.
        "forwarded_allow_ips": "",
        "proc_name": "hub",
        "worker_tmp_dir": tmp,
        "errorlog": "-",
        "loglevel": "info",
        # no control socket: it starts a thread in the arbiter, which then forks its workers
        "control_socket_disable": True,
        "post_worker_init": _warm_worker,
    }


class TimedSocket(socket.socket):
    """A client socket whose blocking reads give up after ``timeout`` seconds.

    gunicorn's gthread worker waits for a connection's first bytes without a thread, but once a
    thread has taken the request it reads the rest with no timeout: a client that sends half a
    request holds that thread for as long as it keeps the connection open. gunicorn switches
    the socket to blocking mode before each request (``setblocking(True)``); here that means
    "blocking, for at most ``timeout`` seconds of silence", and a client silent that long has
    gone away (gunicorn closes the connection quietly, as for any client that hangs up). A
    response must be sent within the same time: behind nginx, which buffers responses, that is
    a few milliseconds.
    """

    __slots__ = ()
    timeout_seconds: float = 30.0

    def setblocking(self, flag: bool) -> None:
        """Blocking mode is blocking with the client timeout; non-blocking is unchanged."""
        if flag:
            self.settimeout(self.timeout_seconds)
        else:
            super().setblocking(False)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """What the client sent; nothing (the end) when it stayed silent past the timeout."""
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            return b""


class HubThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with a timeout on slow clients (see ``TimedSocket``)."""

    def enqueue_req(self, conn: Any) -> None:
        """Hand a connection to a thread, its socket timed first (once per connection)."""
        if not isinstance(conn.sock, TimedSocket) and not self.cfg.is_ssl:
            timed = TimedSocket(fileno=conn.sock.detach())
            conn.sock = timed
        super().enqueue_req(conn)


def _warm_worker(worker: Any) -> None:
    """Each web worker runs the policy checks once before its first request (as ``hub run``
    always did), so nobody's first draft is held for a model that was still loading."""
    app: Flask = worker.wsgi
    with job_session(app) as session:
        warm_checks(session)
    # the models stay for the process's life: out of every full collection's way, the
    # warm-up's garbage freed first (as ``hub.engagement.ingest.prepare_process`` does)
    gc.collect()
    gc.freeze()


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, have the kernel send SIGTERM when the arbiter dies,
    even by SIGKILL, so no orphaned scheduler keeps running (and polling) on its own."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


class SchedulerChild:
    """``hub worker`` as a child process, started again (with backoff) whenever it dies."""

    def __init__(self, argv: list[str], now: Callable[[], float] = time.monotonic) -> None:
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None
        self._now = now
        self._started_at = 0.0
        self._failures = 0
        self._restart_at: float | None = None

    def start(self) -> None:
        """Start the child (its output goes where ours goes)."""
        # its own process group: a Ctrl-C in the terminal reaches the arbiter, which stops it
        env = dict(os.environ, PYTHONUNBUFFERED="1")  # its lines reach the log as they happen
        self.proc = subprocess.Popen(
            self.argv, env=env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self._started_at = self._now()
        self._restart_at = None
        log.info("scheduler started (pid %s)", self.proc.pid)

    def check(self) -> None:
        """Called from the arbiter's loop (about once a second): restart a dead child."""
        if self.proc is None:
            return
        if self._restart_at is not None:
            if self._now() >= self._restart_at:
                self.start()
            return
        code = self.proc.poll()
        if code is None:
            return
        if self._now() - self._started_at >= HEALTHY_SECONDS:
            self._failures = 0
        wait = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**self._failures)
        self._failures += 1
        log.warning(
            "scheduler (pid %s) exited with status %s; restarting in %.0f s",
            self.proc.pid,
            code,
            wait,
        )
        self._restart_at = self._now() + wait

    def poll(self) -> None:
        """Collect the child's exit status if it has ended (before the arbiter's reaping of
        every child takes it and leaves us no status to report)."""
        if self.proc is not None:
            self.proc.poll()

    def terminate(self) -> None:
        """Ask the child to stop (it marks its streams disconnected); does not wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        """Wait for the child to stop; kill it after ``timeout`` seconds."""
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("scheduler (pid %s) did not stop in %.0f s: killed", self.proc.pid, timeout)
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class HubArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's arbiter, also keeping the scheduler child alive and stopping it with the web
    workers (both at once, so a stop takes as long as the slower of the two)."""

    def __init__(self, app: HubServer, scheduler: SchedulerChild | None) -> None:
        super().__init__(app)
        self.scheduler = scheduler

    def reap_workers(self) -> None:
        if self.scheduler is not None:
            self.scheduler.poll()
        super().reap_workers()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.scheduler is not None:
            self.scheduler.check()

    def stop(self, graceful: bool = True) -> None:
        if self.scheduler is not None:
            self.scheduler.terminate()
        super().stop(graceful)
        if self.scheduler is not None:
            self.scheduler.wait(GRACEFUL_SECONDS)


class HubServer(BaseApplication):  # type: ignore[misc]
    """gunicorn embedded: the settings come from ``gunicorn_settings``, not a command line."""

    def __init__(
        self,
        factory: Callable[[], Flask],
        p: ServerPlan,
        scheduler: SchedulerChild | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.plan = p
        self.scheduler = scheduler
        self.on_ready = on_ready
        super().__init__()

    def load_config(self) -> None:
        TimedSocket.timeout_seconds = float(self.plan.client_timeout)
        # gunicorn names itself in every response's Server header; the hub names nothing
        gunicorn_wsgi.SERVER = "hub"
        for name, value in gunicorn_settings(self.plan).items():
            if value is not None:
                self.cfg.set(name, value)
        on_ready = self.on_ready
        scheduler = self.scheduler

        def when_ready(arbiter: Any) -> None:
            if scheduler is not None:
                scheduler.start()
            if on_ready is not None:
                on_ready()

        self.cfg.set("when_ready", when_ready)

    def load(self) -> Flask:
        return self.factory()

    def run(self) -> None:
        """Run the arbiter until SIGTERM or Ctrl-C; returns (rather than exits) on a clean stop."""
        master = os.getpid()
        try:
            HubArbiter(self, self.scheduler).run()
        except SystemExit as stop:
            # a forked web worker leaves through here too: it must exit, not print "stopped"
            if os.getpid() != master or stop.code not in (0, None):
                raise


def scheduler_argv() -> list[str]:
    """The command that runs the scheduler alone: this Python, ``hub worker``."""
    return [sys.executable, "-m", "hub.cli", "worker"]
