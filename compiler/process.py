"""Run a command, streaming its merged stdout/stderr line by line while a watchdog enforces limits.

stdout and stderr share one pipe so lines keep the order the toolchain printed them in. The loop wakes at
least every 0.2 s to poll for cancellation and to check wall time, CPU time (summed over the whole process
tree, including reaped children), the process count and the disk space taken by the folders the run may
write to (measured again once it has ended, so a fast writer cannot finish between two checks).

Every line is made safe before anyone sees it: cut to ``compiler.text.MAX_LINE_BYTES`` (the rest of a longer
line is counted, never buffered) and stripped of terminal control sequences.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from compiler.models import MIB, Limits
from compiler.text import MAX_LINE_BYTES, safe_line

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
_READ_CHUNK = 65536
_MEMORY_EXHAUSTED_MARKERS = (
    "out of memory allocating",
    "virtual memory exhausted",
    "Cannot allocate memory",
    "std::bad_alloc",
    "MemoryError",
    "fatal error: killed signal terminated program",
)
_FORK_FAILED_MARKERS = (
    "Cannot fork",
    "fork: Resource temporarily unavailable",
    "fork: retry",
    "vfork: Resource temporarily unavailable",
    "BlockingIOError: [Errno 11]",
)


@dataclass
class RunOutcome:
    """How a streamed run ended: exit code, or which limit killed it, or cancellation."""

    exit_code: int | None
    output: str
    limit: str | None = None
    cancelled: bool = False
    message: str = ""

    @property
    def succeeded(self) -> bool:
        """True when the command exited 0 without being killed."""
        return self.exit_code == 0 and self.limit is None and not self.cancelled


class _Watchdog:
    """Tracks the limits of one running process tree and names the first one exceeded."""

    def __init__(self, root_pid: int, limits: Limits, disk_paths: Sequence[Path]) -> None:
        self._root_pid = root_pid
        self._limits = limits
        self._disk_paths = tuple(disk_paths)
        self._started = time.monotonic()
        self._disk_checked = float("-inf")

    def exceeded(self) -> str | None:
        if time.monotonic() - self._started > self._limits.wall_seconds:
            return "wall"
        tree = process_tree(self._root_pid)
        if sum(_task_count(p) for p in tree) >= self._limits.max_processes:
            return "processes"
        if sum(_cpu_seconds(p) for p in tree) > self._limits.cpu_seconds:
            return "cpu"
        # Output can wake the loop many times per poll interval; walking the folders once per interval is enough.
        if time.monotonic() - self._disk_checked >= POLL_SECONDS:
            self._disk_checked = time.monotonic()
            if self.over_disk_quota():
                return "disk"
        return None

    def over_disk_quota(self) -> bool:
        """True when the run's writable folders together hold at least the disk limit."""
        return bool(self._disk_paths) and disk_bytes(self._disk_paths) >= self._limits.max_disk_bytes

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started


def disk_bytes(paths: Sequence[Path]) -> int:
    """Bytes the files and folders under ``paths`` take: per file the larger of its size and its allocated blocks.

    Symlinks are not followed. The larger of the two figures is counted so neither a sparse file (small on disk,
    large once copied) nor preallocated blocks escape the quota. Files vanishing during the walk are skipped.
    """
    total = 0
    pending = [str(path) for path in paths]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += max(info.st_size, info.st_blocks * 512)
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return total


def process_tree(root_pid: int) -> list[psutil.Process]:
    """The process and all its live descendants (empty when it is gone)."""
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _task_count(process: psutil.Process) -> int:
    # RLIMIT_NPROC counts threads too, so the watchdog does the same.
    try:
        return process.num_threads()
    except psutil.Error:
        return 0


def _cpu_seconds(process: psutil.Process) -> float:
    # children_* covers descendants already reaped, so live + reaped never double counts.
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system + times.children_user + times.children_system


def kill_tree(root_pid: int) -> None:
    """SIGKILL a process, its process group and every descendant."""
    for process in reversed(process_tree(root_pid)):
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(root_pid, signal.SIGKILL)


def limit_message(limit: str, limits: Limits) -> str:
    """Human one-liner naming the limit that stopped a run."""
    messages = {
        "wall": f"Killed: wall time limit {limits.wall_seconds:g} s",
        "cpu": f"Killed: CPU time limit {limits.cpu_seconds:g} s",
        "output": f"Killed: output limit {_size_text(limits.max_output_bytes)} exceeded",
        "processes": f"Killed: process limit {limits.max_processes} processes/threads",
        "memory": f"Stopped: memory limit {_size_text(limits.memory_bytes)} exceeded",
        "disk": f"Stopped: disk limit exceeded ({_size_text(limits.max_disk_bytes)})",
    }
    return messages[limit]


def _size_text(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


class _LineStream:
    """Splits raw output into bounded, plain-text lines, scrubs them, forwards them and enforces the output cap."""

    def __init__(self, on_line: Callable[[str], None], scrub: Callable[[str], str], max_bytes: int) -> None:
        self._on_line = on_line
        self._scrub = scrub
        self._max_bytes = max_bytes
        self._pending = b""
        self._dropped = 0
        self._received = 0
        self._lines: list[str] = []
        self.over_limit = False

    def feed(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self._max_bytes:
            self.over_limit = True
            chunk = chunk[: max(0, len(chunk) - (self._received - self._max_bytes))]
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            self._take(chunk[start:newline])
            self._end_line()
            start = newline + 1
        self._take(chunk[start:])

    def finish(self) -> None:
        if self._pending or self._dropped:
            self._end_line()

    def emit_text(self, text: str) -> None:
        """Forward a line produced by the runner itself (e.g. the kill message)."""
        self._lines.append(text)
        self._on_line(text)

    def _take(self, part: bytes) -> None:
        """Add to the current line what fits under the line cap; only count the rest."""
        kept = part[: max(0, MAX_LINE_BYTES - len(self._pending))]
        self._pending += kept
        self._dropped += len(part) - len(kept)

    def _end_line(self) -> None:
        line = self._scrub(safe_line(self._pending, self._dropped))
        self._pending, self._dropped = b"", 0
        self._lines.append(line)
        self._on_line(line)

    @property
    def text(self) -> str:
        return "\n".join(self._lines)


def run_streaming(
    argv: Sequence[str],
    limits: Limits,
    on_line: Callable[[str], None],
    should_cancel: Callable[[], bool],
    scrub: Callable[[str], str] = lambda line: line,
    after_exit: Callable[[], None] = lambda: None,
    disk_paths: Sequence[Path] = (),
    **popen_kwargs: Any,
) -> RunOutcome:
    """Run ``argv`` and stream each output line to ``on_line``; kill it on cancel or on any exceeded limit.

    ``after_exit`` runs once the main process is gone (the sandbox uses it to sweep stray processes).
    ``disk_paths`` are the folders the run may write to; together they must stay under ``limits.max_disk_bytes``.
    """
    logger.debug("running %s", argv)
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **popen_kwargs,
    )
    stream = _LineStream(on_line, scrub, limits.max_output_bytes)
    watchdog = _Watchdog(process.pid, limits, disk_paths)
    try:
        stopped_by = _pump(process, stream, watchdog, should_cancel)
    finally:
        kill_tree(process.pid)
        process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        after_exit()
    if stopped_by is None and watchdog.over_disk_quota():
        stopped_by = "disk"
    stream.finish()
    return _outcome(process.returncode, stopped_by, stream, limits)


def _pump(
    process: subprocess.Popen[bytes], stream: _LineStream, watchdog: _Watchdog, should_cancel: Callable[[], bool]
) -> str | None:
    """Move output to the stream until the process ends; return "cancel"/a limit name if it was stopped."""
    pipe = process.stdout
    assert pipe is not None
    os.set_blocking(pipe.fileno(), False)
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        state = "data"
        while True:
            if should_cancel():
                return "cancel"
            if limit := watchdog.exceeded():
                return limit
            if state == "eof":
                time.sleep(POLL_SECONDS / 4)
            else:
                state = _read_available(selector, pipe.fileno(), stream)
                if stream.over_limit:
                    return "output"
            # A stray descendant may hold the pipe open after the main process ended; do not wait for it.
            if state != "data" and process.poll() is not None:
                return None


def _read_available(selector: selectors.BaseSelector, fd: int, stream: _LineStream) -> str:
    """Read what is ready within one poll interval: "data", "idle" (nothing yet) or "eof"."""
    if not selector.select(timeout=POLL_SECONDS):
        return "idle"
    try:
        chunk = os.read(fd, _READ_CHUNK)
    except BlockingIOError:
        return "idle"
    if not chunk:
        return "eof"
    stream.feed(chunk)
    return "data"


def _outcome(returncode: int, stopped_by: str | None, stream: _LineStream, limits: Limits) -> RunOutcome:
    if stopped_by == "cancel":
        stream.emit_text("Cancelled.")
        return RunOutcome(exit_code=None, output=stream.text, cancelled=True, message="Cancelled")
    limit = _limit_from_output(stopped_by, returncode, stream.text)
    if limit:
        message = limit_message(limit, limits)
        stream.emit_text(message)
        return RunOutcome(
            exit_code=returncode if stopped_by is None else None, output=stream.text, limit=limit, message=message
        )
    return RunOutcome(exit_code=returncode, output=stream.text)


def _limit_from_output(stopped_by: str | None, returncode: int, output: str) -> str | None:
    """Name the limit behind a failure when the kernel-enforced caps left their traces in the output."""
    if stopped_by in (None, "wall", "cpu") and any(marker in output for marker in _FORK_FAILED_MARKERS):
        return "processes"
    if stopped_by is None and returncode != 0 and any(m in output for m in _MEMORY_EXHAUSTED_MARKERS):
        return "memory"
    return stopped_by
