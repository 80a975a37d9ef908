"""CPU-heavy work (highlighting, password hashing, ZIP building and reading) in a small pool of worker processes.

The web server serves every request, bots' firmware checks included, from one process. Under eventlet or gevent
threads are green: CPU work in a thread still stops every other request. So the work goes to separate processes,
which the operating system schedules beside the web server, whatever the async mode. Waiting for the result is
ordinary blocking I/O on a pipe, which eventlet and gevent turn into a cooperative wait (and threading simply
waits), so no async-library API is called here.

Arguments and results travel through a private temporary folder, never through the pool's pipes: under eventlet a
large write to a full pipe blocks the whole process (the pipes are blocking file descriptors), and with a worker
blocked writing its own large result back, both sides wait forever. Only file names go through the pipes.

The pool is created on first use, after the web server's async library has patched the standard library (gunicorn
patches before it loads the app; ``multiprocessing.connection`` must not be imported earlier than that). Worker
processes are started fresh ("spawn"), so they inherit no database connections or sockets, and run at a lower CPU
priority than the web server. The number of calls
waiting at once is bounded: past it the caller gets 503 rather than an ever longer queue.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar, cast

from .errors import ServiceUnavailable

log = logging.getLogger(__name__)

WORKER_PROCESSES = 2
WORKER_NICENESS = 10  # the web server answering bots gets the CPU first
MAX_WAITING = 64  # calls queued or running at once, per web process
BUSY = "The server is busy; try again in a moment"
INPUT, OUTPUT = "call.pickle", "outcome.pickle"

Result = TypeVar("Result")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_waiting = 0


def run_cpu_bound(function: Callable[..., Result], *args: object) -> Result:
    """``function(*args)`` in a worker process; its result, or the exception it raised.

    ``function`` must be a module-level function and its arguments and result picklable. In a process that may not
    start children (a Celery pool process is daemonic) the call runs inline: no event loop to protect there.
    """
    if multiprocessing.current_process().daemon:
        return function(*args)
    global _waiting
    with _lock:
        if _waiting >= MAX_WAITING:
            raise ServiceUnavailable(BUSY)
        _waiting += 1
        pool = _running_pool()
    try:
        with tempfile.TemporaryDirectory(prefix="webide-cpu-") as folder:
            Path(folder, INPUT).write_bytes(pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL))
            pool.submit(run_from_folder, folder).result()
            failed, outcome = pickle.loads(Path(folder, OUTPUT).read_bytes())
    except BrokenProcessPool:
        log.warning("A CPU worker process died; starting a new pool")
        _discard_pool(pool)
        raise ServiceUnavailable(BUSY) from None
    finally:
        with _lock:
            _waiting -= 1
    if failed:
        raise outcome
    return cast(Result, outcome)


def run_from_folder(folder: str) -> None:
    """In a worker process: call what ``folder`` holds and store the result or the exception beside it."""
    function, args = pickle.loads(Path(folder, INPUT).read_bytes())
    try:
        outcome: tuple[bool, object] = (False, function(*args))
    except Exception as error:  # handed to the caller, who raises it
        outcome = (True, error)
    Path(folder, OUTPUT).write_bytes(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL))


def _start_pool_worker(niceness: int) -> None:
    """Lower the worker's priority; leave Ctrl+C to the process that owns the pool, which ends its workers (else
    every worker of `webide run` prints a KeyboardInterrupt traceback when the terminal's Ctrl+C reaches them)."""
    os.nice(niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _running_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            WORKER_PROCESSES,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_pool_worker,
            initargs=(WORKER_NICENESS,),
        )
    return _pool


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
