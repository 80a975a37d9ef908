"""The supervisor of `webide run`: restarts with backoff, gives up on a child that keeps dying, stops when asked."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading

import psutil

from webide.runner import Child, RestartPolicy, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_restart_delays_double_up_to_the_limit_and_a_child_dying_too_often_is_given_up():
    policy = RestartPolicy(first_delay_s=1, max_delay_s=4, max_deaths=5, window_s=100, stable_after_s=50)
    child = Child("worker-1", SLEEPER, dict(os.environ))
    delays, now = [], 0.0
    while child.schedule_restart(policy, now):
        delays.append(child.delay_s)
        child.started_at = now = child.restart_at  # started again, and dies at once
    assert delays == [1, 2, 4, 4]
    assert len(child.deaths) == 5


def test_a_child_that_ran_long_enough_starts_again_from_the_first_delay_and_old_deaths_are_forgotten():
    policy = RestartPolicy(first_delay_s=1, max_delay_s=30, max_deaths=3, window_s=100, stable_after_s=50)
    child = Child("web", SLEEPER, dict(os.environ))
    assert child.schedule_restart(policy, 0.0) and child.schedule_restart(policy, 2.0) and child.delay_s == 2
    child.started_at = 3.0
    assert child.schedule_restart(policy, 200.0)  # ran 197 s; the deaths at 0 and 2 s are out of the window
    assert child.delay_s == 1 and child.deaths == [200.0]


def test_a_child_that_keeps_dying_stops_the_service_and_its_siblings(capsys):
    policy = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, max_deaths=3, window_s=60)
    sleeper, crasher = Child("web", SLEEPER, dict(os.environ)), Child("worker-1", CRASHER, dict(os.environ))
    assert Supervisor([sleeper, crasher], policy).run() == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"webide: started web (pid {sleeper.process.pid})"
    assert re.fullmatch(r"webide: started worker-1 \(pid \d+\)", err[1])
    assert err[2:] == [
        "webide: worker-1 exited with code 3; restarting it in 0.05 s",
        "webide: worker-1 exited with code 3; restarting it in 0.1 s",
        "webide: worker-1 exited with code 3 and keeps dying (3 times in 60 s); stopping",
    ]
    assert sleeper.exit_code() == -signal.SIGTERM


def test_the_service_stops_cleanly_when_asked_and_restarts_nothing_afterwards(tmp_path):
    children = [
        Child("web", SLEEPER, dict(os.environ), tmp_path / "web.log"),
        Child("worker-1", SLEEPER, dict(os.environ), tmp_path / "worker-1.log"),
    ]
    supervisor = Supervisor(
        children, on_ready=lambda: threading.Timer(0.3, supervisor.request_stop, (signal.SIGTERM, None)).start()
    )
    assert supervisor.run() == 0
    assert [child.exit_code() for child in children] == [-signal.SIGTERM, -signal.SIGTERM]
    assert not any(
        psutil.pid_exists(c.process.pid) and psutil.Process(c.process.pid).status() != "zombie" for c in children
    )
    assert (tmp_path / "web.log").exists() and (tmp_path / "worker-1.log").exists()
