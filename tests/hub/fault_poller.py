"""A poller for the fault trials: forks poll loops on demand so each can be killed with SIGKILL.

Run as ``python fault_poller.py``; settings come from HUB_* variables like ``hub poll``. Each line
``spawn MARKER_FILE`` on stdin forks a child that builds the app and polls every account in a
loop; the child's pid is printed on stdout. The imports, mappers and language models load
once, here (one warm-up poll), so a trial costs a fork instead of a Python start. The child
appends one byte per session event to MARKER_FILE (B begin, F flush, C commit, R rollback,
L loop) so the test can tell where the kill landed.
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.orm import Session

import connectors.bluesky  # noqa: F401  (imported before forking, like the hub would)
import connectors.x  # noqa: F401
from connectors.sandbox import SandboxStore
from hub import create_app
from hub.platforms.polling import poll_all


def _child(marker_path: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(marker_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for name, mark in (
        ("after_begin", b"B"),
        ("after_flush", b"F"),
        ("after_commit", b"C"),
        ("after_rollback", b"R"),
    ):
        event.listen(Session, name, lambda *a, _m=mark: os.write(fd, _m))
    app = create_app()
    while True:
        os.write(fd, b"L")
        poll_all(app, force=True)


def _warm_up() -> None:
    """One ordinary poll here, so the children start with mappers and language models loaded."""
    app = create_app()
    poll_all(app, force=True)
    # no connection may cross the fork: children open their own
    app.extensions["hub.engine"].dispose()
    for engine in SandboxStore._engines.values():
        engine.dispose()
    SandboxStore._engines.clear()


def main() -> None:
    """Serve spawn requests until stdin closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps killed children
    _warm_up()
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                _child(arg)
            finally:
                os._exit(1)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
