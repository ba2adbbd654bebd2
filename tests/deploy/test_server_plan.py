"""`hub serve`'s shape: processes and threads from the CPU count, the settings and the options;
and the scheduler child's restart backoff."""

from __future__ import annotations

from typing import Any

import pytest

from hub import config, server

SETTINGS = {s.name: s.default for s in config.declared()}


@pytest.mark.parametrize(
    ("cpus", "setting", "option", "expected"),
    [
        (2, 0, None, 2),  # one per CPU
        (32, 0, None, server.MAX_AUTO_WORKERS),  # capped: each process warms its own models
        (4, 3, None, 3),  # the setting
        (4, 3, 1, 1),  # the option wins
        (1, -5, None, 1),
    ],
)
def test_web_processes(
    monkeypatch: pytest.MonkeyPatch, cpus: int, setting: int, option: int | None, expected: int
) -> None:
    monkeypatch.setattr(server, "cpu_count", lambda: cpus)
    shape = server.plan(SETTINGS | {"SERVER_WORKERS": setting}, "127.0.0.1", 5000, option, None)
    assert shape.workers == expected


def test_threads_bind_and_limits() -> None:
    shape = server.plan(SETTINGS | {"SERVER_THREADS": "6"}, "::1", 8000, 2, None)
    assert (shape.bind, shape.threads) == ("[::1]:8000", 6)
    assert server.plan(SETTINGS, "0.0.0.0", 80, 1, 3).threads == 3
    settings = server.gunicorn_settings(shape)
    assert settings["worker_class"] == "hub.server.HubThreadWorker"
    assert settings["forwarded_allow_ips"] == ""  # the hub's TRUSTED_PROXIES decides
    assert settings["limit_request_line"] and settings["limit_request_fields"]
    assert settings["control_socket_disable"] is True


class _Exited:
    pid = 41

    def poll(self) -> int:
        return 1


def test_a_scheduler_that_keeps_dying_is_restarted_ever_more_slowly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    child = server.SchedulerChild(["true"], now=lambda: clock[0])
    starts: list[float] = []

    def start() -> None:
        starts.append(clock[0])
        child.proc = _Exited()  # type: ignore[assignment]
        child._started_at = clock[0]
        child._restart_at = None

    monkeypatch.setattr(child, "start", start)
    start()
    for _ in range(1000):
        clock[0] += 0.5
        child.check()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert [round(g) for g in gaps[:4]] == [2, 2, 4, 8]  # 1, 2, 4, 8 s, on a half-second tick
    assert max(gaps) <= server.RESTART_MAX_SECONDS + 1  # and never more than a minute
    assert gaps[-1] >= server.RESTART_MAX_SECONDS


def test_plan_reads_only_declared_settings() -> None:
    used: set[str] = set()

    class Spy(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            used.add(key)
            return super().__getitem__(key)

    server.plan(Spy(SETTINGS), "127.0.0.1", 1, None, None)
    assert used <= set(SETTINGS)
