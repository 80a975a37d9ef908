"""Disk safety of the compiler: the free-space reserve and the sweep of folders left by lost builds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from compiler import Compiler, LowDiskSpace
from tests.compiler.conftest import BLINK, sketch

UNO = "arduino:avr:uno"
GIB = 1024**3
ROOT = Path(__file__).resolve().parents[2]

# Run in a child process: a build that is killed part-way, or a folder lease held until stdin closes.
KILLED_BUILD = """
import sys
from pathlib import Path
from compiler import Compiler, CompilerConfig
from tests.compiler.conftest import sketch
compiler = Compiler(CompilerConfig(work_root=Path(sys.argv[1]), cache_root=Path(sys.argv[2]),
                                   toolchain="arduino-builder"))
compiler.build(*sketch(), "arduino:avr:uno")
"""
LIVE_LEASE = """
import sys
from pathlib import Path
from compiler.locks import LeasedFolders
folder, _ = LeasedFolders(Path(sys.argv[1]), "build-").acquire()
(folder / "in-use").write_text("x")
print(folder, flush=True)
sys.stdin.read()
"""


def folders(root: Path, pattern: str = "build-*") -> list[Path]:
    return sorted(root.glob(pattern))


def start(script: str, *args: Path, talk: bool = False) -> subprocess.Popen[str]:
    """Run ``script`` in a child Python process of its own session, with pipes to talk to it if asked."""
    pipe = subprocess.PIPE if talk else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        text=True,
        stdin=pipe,
        stdout=pipe,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe:
            pipe.close()


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_builds_are_refused_below_the_free_space_reserve_but_cached_ones_are_served(
    make_compiler: Callable[..., Compiler], shared_tmp: Path
) -> None:
    first = make_compiler().build(*sketch(), UNO)
    assert first.status == "success"
    starved = make_compiler(min_free_bytes=shutil.disk_usage(shared_tmp).free + 10 * GIB)
    with pytest.raises(LowDiskSpace) as refused:
        starved.build(*sketch(main=BLINK.replace("500", "250")), UNO)
    message = str(refused.value)
    assert message.startswith("The server is low on disk space, so builds are paused until an administrator frees")
    assert " MB free, " in message and " MB needed " in message
    assert starved.runs == 0 and folders(starved.config.work_root) == []
    again = starved.build(*sketch(), UNO)
    assert again.cache_hit and again.status == "success" and again.sha256 == first.sha256


@pytest.mark.slow
def test_folders_of_a_killed_build_are_swept_and_live_ones_kept(
    make_compiler: Callable[..., Compiler], shared_tmp: Path
) -> None:
    work, cache = shared_tmp / "work", shared_tmp / "cache"
    live = start(LIVE_LEASE, work, talk=True)
    killed = start(KILLED_BUILD, work, cache)
    try:
        live_folder = Path(live.stdout.readline().strip())  # type: ignore[union-attr]
        # Kill the build while the toolchain writes objects: its work folder and core-cache staging folder stay.
        wait_for(lambda: any(p != live_folder and any((p / "build").rglob("*.o")) for p in folders(work)))
        toolchain = psutil.Process(killed.pid).children(recursive=True)
        stop(killed)
        _, alive = psutil.wait_procs(toolchain, timeout=30)
        assert alive == [], "the sandboxed toolchain dies with its worker"
        left = [p for p in folders(work) if p != live_folder]
        assert len(left) == 1 and len(folders(cache / "cores" / ".staging", "entry-*")) == 1

        compiler = make_compiler()  # creating a compiler sweeps
        assert folders(work) == [live_folder] and (live_folder / "in-use").exists()
        assert folders(cache / "cores" / ".staging", "entry-*") == []

        live.stdin.close()  # type: ignore[union-attr]
        live.wait(30)
        assert compiler.sweep_orphans() == [live_folder], "a lease whose owner ended is swept by a later call"
        assert folders(work) == []
        assert compiler.build(*sketch(), UNO).status == "success"
    finally:
        stop(killed)
        stop(live)
