"""The bubblewrap runner on its own: isolation, limits, streaming and cancellation, with real processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil
import pytest

from compiler.models import Limits
from compiler.sandbox import Mount, Sandbox, SandboxSpec
from compiler.text import MAX_LINE_BYTES
from tests.compiler.conftest import tight_limits


@pytest.fixture
def tmp_path(shared_tmp: Path) -> Path:
    return shared_tmp


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(True)


def run(
    sandbox: Sandbox,
    script: str,
    limits: Limits | None = None,
    spec: SandboxSpec | None = None,
    should_cancel=lambda: False,
):
    lines: list[str] = []
    outcome = sandbox.run(
        ["sh", "-c", script], spec or SandboxSpec(), limits or tight_limits(), lines.append, should_cancel
    )
    return outcome, lines


def test_sandbox_reports_usable(sandbox: Sandbox) -> None:
    usable, message = sandbox.status()
    assert usable, message


def test_stdout_and_stderr_stream_in_order(sandbox: Sandbox) -> None:
    outcome, lines = run(sandbox, "echo one; echo two >&2; echo three; exit 3")
    assert lines == ["one", "two", "three"]
    assert outcome.exit_code == 3 and outcome.limit is None


def test_network_is_unreachable(sandbox: Sandbox) -> None:
    script = (
        'python3 -c "import socket; s = socket.socket(); s.settimeout(3); '
        "s.connect(('1.1.1.1', 80)); print('CONNECTED')\" 2>&1"
    )
    _outcome, lines = run(sandbox, script)
    assert "CONNECTED" not in lines
    assert "OSError: [Errno 101] Network is unreachable" in lines
    _, interfaces = run(sandbox, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert interfaces == ["lo"]


def test_server_environment_and_files_are_invisible(sandbox: Sandbox, tmp_path: Path) -> None:
    secret_dir = tmp_path / "server-data"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("TOP-SECRET-VALUE")
    os.environ["WEBIDE_TEST_SECRET"] = "ENV-SECRET-VALUE"
    try:
        _outcome, lines = run(sandbox, f"env; cat {secret_dir}/secret.txt; cat /etc/shadow; ls /; ls /proc")
    finally:
        del os.environ["WEBIDE_TEST_SECRET"]
    text = "\n".join(lines)
    assert "TOP-SECRET-VALUE" not in text and "ENV-SECRET-VALUE" not in text
    assert "PATH=/usr/bin:/bin" in text
    assert "No such file or directory" in text
    visible_pids = [line for line in lines if line.isdigit()]
    assert len(visible_pids) < 10, "only the sandbox's own processes may be visible"


def test_only_writable_mounts_can_be_written(sandbox: Sandbox, tmp_path: Path) -> None:
    readable, writable = tmp_path / "ro", tmp_path / "rw"
    readable.mkdir()
    writable.mkdir()
    (readable / "in.txt").write_text("input\n")
    spec = SandboxSpec(mounts=[Mount(readable, "/sandbox/ro"), Mount(writable, "/sandbox/rw", writable=True)])
    _outcome, lines = run(
        sandbox,
        "cat /sandbox/ro/in.txt; touch /sandbox/ro/x 2>&1; touch /usr/x 2>&1; echo made > /sandbox/rw/out.txt",
        spec=spec,
    )
    assert lines[0] == "input"
    assert sum("Read-only file system" in line for line in lines) == 2
    assert (writable / "out.txt").read_text() == "made\n"
    assert not (readable / "x").exists()


def test_no_host_directory_fd_leaks_into_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    spec = SandboxSpec(mounts=[Mount(tmp_path, "/sandbox/x")])
    _outcome, lines = run(sandbox, "for fd in /proc/self/fd/*; do readlink $fd; done", spec=spec)
    targets = [line for line in lines if not line.startswith(("pipe:", "/dev/null", "/proc/"))]
    assert targets == [], targets


def test_wall_time_limit_kills_with_a_clear_message(sandbox: Sandbox) -> None:
    outcome, lines = run(sandbox, "echo started; sleep 30", tight_limits(wall_seconds=1))
    assert outcome.limit == "wall"
    assert outcome.message == "Killed: wall time limit 1 s"
    assert lines == ["started", "Killed: wall time limit 1 s"]


def test_cpu_time_limit(sandbox: Sandbox) -> None:
    outcome, _ = run(sandbox, "while :; do :; done", tight_limits(cpu_seconds=1))
    assert outcome.limit == "cpu"
    assert "CPU time limit 1 s" in outcome.message


def test_output_flood_is_cut_and_killed(sandbox: Sandbox) -> None:
    outcome, lines = run(sandbox, "yes 'flood flood flood'", tight_limits(max_output_bytes=64 * 1024))
    assert outcome.limit == "output"
    assert lines[-1] == "Killed: output limit 64 KiB exceeded"
    assert sum(len(line) + 1 for line in lines[:-1]) <= 64 * 1024 + 1


@pytest.mark.slow
def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    bomb = (
        'python3 -c "\nimport os, time\nwhile True:\n    try:\n        os.fork()\n'
        '    except OSError:\n        time.sleep(0.01)\n"'
    )
    outcome, _ = run(sandbox, bomb, tight_limits(max_processes=24, wall_seconds=20, cpu_seconds=30))
    assert outcome.limit == "processes"
    assert "process limit 24" in outcome.message
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if "os.fork()" in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_memory_cap(sandbox: Sandbox) -> None:
    outcome, lines = run(
        sandbox,
        "python3 -c 'block = bytearray(768 * 1024 * 1024); print(\"ALLOCATED\")'",
        tight_limits(memory_bytes=256 * 1024 * 1024),
    )
    assert "ALLOCATED" not in lines
    assert outcome.limit == "memory"
    assert outcome.message == "Stopped: memory limit 256 MiB exceeded"


def test_cancellation_kills_the_run(sandbox: Sandbox) -> None:
    started = threading.Event()

    def on_line(line: str) -> None:
        if line == "ready":
            started.set()

    outcome = sandbox.run(
        ["sh", "-c", "echo ready; sleep 30; echo finished"], SandboxSpec(), tight_limits(), on_line, started.is_set
    )
    assert outcome.cancelled
    assert "finished" not in outcome.output
    assert outcome.output.splitlines()[-1] == "Cancelled."


def test_disabled_sandbox_is_reported(tmp_path: Path) -> None:
    usable, message = Sandbox(False).status()
    assert not usable and "disabled" in message


def test_missing_bwrap_is_reported(tmp_path: Path) -> None:
    usable, message = Sandbox(True, bwrap="bwrap-not-installed").status()
    assert not usable and "bubblewrap" in message and "install" in message


def test_long_lines_are_cut_and_control_sequences_stripped_as_they_stream(sandbox: Sandbox) -> None:
    script = (
        "python3 -c \"import sys; sys.stdout.write('x' * 100000 + '\\n'); "
        "sys.stdout.write('\\x1b[2J\\x1b]8;;http://evil\\x07fake\\x1b]8;;\\x07 done\\r\\n')\""
    )
    outcome, lines = run(sandbox, script)
    assert outcome.exit_code == 0
    assert lines == ["x" * MAX_LINE_BYTES + f" [… line cut: {100000 - MAX_LINE_BYTES} more bytes]", "fake done"]
    assert outcome.output == "\n".join(lines)


def test_disk_limit_counts_every_writable_folder_and_tmp(sandbox: Sandbox, tmp_path: Path) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    spec = SandboxSpec(mounts=[Mount(out, "/sandbox/out", writable=True), Mount(tmp, "/tmp", writable=True)])
    script = "head -c 3000000 /dev/zero > /sandbox/out/a; head -c 3000000 /dev/zero > /tmp/b; echo wrote; sleep 30"
    outcome, lines = run(sandbox, script, tight_limits(max_disk_bytes=5 * 1024 * 1024), spec)
    assert (tmp / "b").stat().st_size == 3000000, "the sandbox's /tmp is the mounted folder"
    assert outcome.limit == "disk"
    assert lines == ["wrote", "Stopped: disk limit exceeded (5 MiB)"]


def test_a_run_that_fills_its_disk_limit_and_exits_still_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    spec = SandboxSpec(mounts=[Mount(tmp_path, "/sandbox/out", writable=True)])
    outcome, lines = run(
        sandbox, "head -c 2000000 /dev/zero > /sandbox/out/a", tight_limits(max_disk_bytes=1000000), spec
    )
    assert outcome.limit == "disk" and outcome.exit_code is None
    assert lines[-1] == "Stopped: disk limit exceeded (1000000 bytes)"


def test_single_file_is_stopped_by_the_kernel_at_the_disk_limit(sandbox: Sandbox, tmp_path: Path) -> None:
    spec = SandboxSpec(mounts=[Mount(tmp_path, "/sandbox/out", writable=True)])
    outcome, _ = run(
        sandbox, "head -c 8000000 /dev/zero > /sandbox/out/big", tight_limits(max_disk_bytes=4 * 1024 * 1024), spec
    )
    assert (tmp_path / "big").stat().st_size == 4 * 1024 * 1024
    assert outcome.limit == "disk"


def test_without_a_tmp_mount_the_sandbox_gets_a_private_tmpfs(sandbox: Sandbox) -> None:
    _outcome, lines = run(sandbox, "echo private > /tmp/x; cat /tmp/x; stat -f -c %T /tmp")
    assert lines == ["private", "tmpfs"]
