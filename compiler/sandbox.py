"""Bubblewrap sandbox around every toolchain run.

Inside: /usr (and the /bin, /lib… links of a merged-/usr system) read-only, a private /tmp, a fresh /proc
and minimal /dev, no network (``--unshare-all``), a cleared environment, and only the mounts a driver asks
for. A spec may mount a host folder at /tmp (the compiler mounts one inside the build's own folder) so that
temporary files count against the run's disk limit like everything else it writes; otherwise /tmp is a small
tmpfs. Mounts are passed to bwrap as already-open directory fds, so the unprivileged sandbox user never
needs search permission on the server's own folders, and bwrap closes those fds before the toolchain starts.

When the service runs as root, RLIMIT_NPROC would not bind, so each run gets its own unprivileged uid from a
small pool (one lock file per slot); the fork-bomb cap is then that uid's process count, and stray
processes are swept by uid when the run ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from compiler.errors import SandboxUnavailable
from compiler.locks import try_lock
from compiler.models import MIB, Limits
from compiler.process import RunOutcome, run_streaming

SANDBOX_PATH = "/usr/bin:/bin"
PRLIMIT = "/usr/bin/prlimit"
SANDBOX_LANG = "C.UTF-8"
UID_BASE = 1_500_000_000
UID_SLOTS = 512
# The uid pool is machine-wide, so its leases must be too: two services (or test runs) with different data
# folders would otherwise lease the same uid and sweep each other's compilers. /run is writable by root only.
UID_LEASE_DIR = Path("/run/webide/sandbox-uids")
# Build outputs are small; a larger single file can only be an attempt to fill the disk. The kernel also stops
# any single file at the run's disk limit, before the watchdog's next measurement.
MAX_FILE_BYTES = 1024 * MIB
TMPFS_BYTES = 512 * MIB
SANDBOX_TMP = "/tmp"
_MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/alternatives")


@dataclass(frozen=True)
class Mount:
    """A host folder made visible at ``dest`` inside the sandbox."""

    host: Path
    dest: str
    writable: bool = False


@dataclass
class SandboxSpec:
    """What one toolchain run may see: its mounts, extra environment and working directory."""

    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/tmp"

    @property
    def writable_folders(self) -> list[Path]:
        """Host folders the run may write to: together they are held to the run's disk limit."""
        return [mount.host for mount in self.mounts if mount.writable]

    @property
    def tmp_folder(self) -> Path | None:
        """The host folder mounted as /tmp, if any."""
        return next((m.host for m in self.mounts if m.dest == SANDBOX_TMP and m.writable), None)


class Sandbox:
    """Runs commands inside bubblewrap (or, when an admin opted out, directly with a cleared environment)."""

    def __init__(self, enabled: bool, bwrap: str = "bwrap") -> None:
        self.enabled = enabled
        self._bwrap = bwrap

    def status(self) -> tuple[bool, str]:
        """Check that bubblewrap can start a sandbox here; return (usable, message with the fix when not)."""
        if not self.enabled:
            return False, "Sandbox disabled by configuration: sketches compile WITHOUT isolation"
        executable = shutil.which(self._bwrap)
        if not executable:
            return False, "bubblewrap (bwrap) is not installed: install the 'bubblewrap' package"
        lines: list[str] = []
        outcome = self.run(["/bin/true"], SandboxSpec(), Limits(wall_seconds=20), lines.append, lambda: False)
        if outcome.succeeded:
            return True, f"bubblewrap sandbox usable ({executable})"
        detail = " ".join(lines)[-300:]
        return False, (
            f"bubblewrap cannot create a sandbox ({detail}): enable unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0)"
        )

    def run(
        self,
        argv: Sequence[str],
        spec: SandboxSpec,
        limits: Limits,
        on_line: Callable[[str], None],
        should_cancel: Callable[[], bool],
        scrub: Callable[[str], str] = lambda line: line,
    ) -> RunOutcome:
        """Run ``argv`` confined by ``spec`` and ``limits``, streaming output lines as they come.

        Without the sandbox (an admin's explicit choice) the mounts are not applied, but their writable folders are
        still held to the disk limit and a /tmp mount becomes ``TMPDIR``.
        """
        with ExitStack() as stack:
            identity = stack.enter_context(_run_identity()) if self.enabled else None
            for mount in spec.mounts:
                if mount.writable and identity is not None:
                    os.chown(mount.host, identity, identity)
            fds = [stack.enter_context(_path_fd(m.host)) for m in spec.mounts] if self.enabled else []
            confined = self._command(argv, spec, fds) if self.enabled else list(argv)
            outcome = run_streaming(
                _rlimit_prefix(limits, identity) + confined,
                limits,
                on_line,
                should_cancel,
                scrub,
                after_exit=lambda: _sweep_uid(identity),
                disk_paths=spec.writable_folders,
                pass_fds=fds,
                env=None if self.enabled else _unconfined_env(spec),
                cwd=None if self.enabled else spec.cwd,
                **_identity_kwargs(identity),
            )
        return outcome

    def _command(self, argv: Sequence[str], spec: SandboxSpec, fds: list[int]) -> list[str]:
        command = [self._bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in _minimal_env(spec.env).items():
            command += ["--setenv", key, value]
        command += ["--ro-bind", "/usr", "/usr"]
        command += _merged_usr_args()
        for system_file in _SYSTEM_FILES:
            command += ["--ro-bind-try", system_file, system_file]
        command += ["--proc", "/proc", "--dev", "/dev"]
        if spec.tmp_folder is None:
            command += ["--size", str(TMPFS_BYTES), "--tmpfs", SANDBOX_TMP]
        for mount, fd in zip(spec.mounts, fds):
            command += ["--bind-fd" if mount.writable else "--ro-bind-fd", str(fd), mount.dest]
        command += ["--chdir", spec.cwd, "--", *argv]
        return command


def _merged_usr_args() -> list[str]:
    args: list[str] = []
    for name in _MERGED_USR_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    return args


def _minimal_env(extra: dict[str, str]) -> dict[str, str]:
    return {"PATH": SANDBOX_PATH, "HOME": SANDBOX_TMP, "LANG": SANDBOX_LANG, "LC_ALL": SANDBOX_LANG, **extra}


def _unconfined_env(spec: SandboxSpec) -> dict[str, str]:
    """The environment of an unsandboxed run: temporary files go to the spec's /tmp folder when it has one."""
    env = _minimal_env(spec.env)
    if spec.tmp_folder is not None:
        env.update(HOME=str(spec.tmp_folder), TMPDIR=str(spec.tmp_folder))
    return env


@contextmanager
def _path_fd(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _run_identity() -> Iterator[int | None]:
    """Lease a private unprivileged uid for one run when running as root; None otherwise."""
    if os.geteuid() != 0:
        yield None
        return
    for slot in range(UID_SLOTS):
        fd = try_lock(UID_LEASE_DIR / f"{slot}.lock")
        if fd is None:
            continue
        uid = UID_BASE + slot
        try:
            _sweep_uid(uid)
            yield uid
        finally:
            os.close(fd)
        return
    raise SandboxUnavailable(f"all {UID_SLOTS} sandbox user ids are in use")


def _identity_kwargs(identity: int | None) -> dict[str, object]:
    if identity is None:
        return {}
    return {"user": identity, "group": identity, "extra_groups": []}


def _rlimit_prefix(limits: Limits, identity: int | None) -> list[str]:
    """prlimit(1) applies the caps the kernel itself enforces, without Python code between fork and exec."""
    cpu = int(limits.cpu_seconds) + 1
    nproc = limits.max_processes if identity is not None else _own_task_count() + limits.max_processes
    return [
        PRLIMIT,
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_bytes}",
        f"--fsize={min(MAX_FILE_BYTES, limits.max_disk_bytes)}",
        "--core=0",
        f"--nproc={nproc}",
        "--",
    ]


def _own_task_count() -> int:
    # Without a private uid the cap has to leave room for the service's own processes of the same user.
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _sweep_uid(uid: int | None) -> None:
    """Kill every process still running under a leased sandbox uid."""
    if uid is None:
        return
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid:
                process.kill()
        except psutil.Error:
            continue


def run_unconfined_query(argv: Sequence[str], timeout: float = 60) -> str:
    """Run a trusted toolchain query (version, board list) that involves no user input; return stdout.

    The toolchain sees the service's ``PATH`` and ``HOME`` and every ``ARDUINO_*`` variable: they are how an
    admin installed arduino-cli (``ARDUINO_DIRECTORIES_DATA``, ``ARDUINO_CONFIG_FILE``…), and the queries must
    find the same folders the builds later get.
    """
    env = {
        "PATH": os.environ.get("PATH", SANDBOX_PATH),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": SANDBOX_LANG,
        **toolchain_settings(),
    }
    completed = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=True, env=env)
    return completed.stdout


def toolchain_settings() -> dict[str, str]:
    """The ``ARDUINO_*`` variables of the service's environment (arduino-cli's own settings)."""
    return {key: value for key, value in os.environ.items() if key.startswith("ARDUINO_")}
