"""The Compiler facade: validate, pick a toolchain per FQBN, consult the caches, run the sandboxed build."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compiler.cache import CoreCache, EntryStore
from compiler.diagnostics import DiagnosticParser, PathScrubber
from compiler.drivers import ArduinoBuilderDriver, ArduinoCliDriver, CompileJob, Driver
from compiler.drivers.base import (
    AGENT_LINK_FLAGS_FILE,
    AGENT_LINK_PROPERTY,
    AGENT_SOURCE,
    artifact_candidates,
    board_id,
    fqbn_parts,
)
from compiler.errors import CompilerError, LowDiskSpace, SandboxUnavailable, ToolchainNotFound, UnknownBoard
from compiler.ihex import hex_to_bin
from compiler.locks import LeasedFolders
from compiler.models import MIB, Board, BuildResult, CompilerConfig, Diagnostic, Limits, SketchFile, ToolchainInfo
from compiler.process import RunOutcome
from compiler.sandbox import SANDBOX_TMP, Mount, Sandbox, SandboxSpec
from compiler.validation import validate_sketch

logger = logging.getLogger(__name__)

VISIBLE_ROOT = "/sandbox"
CACHE_NOTICE = "Using a cached build: this exact sketch was compiled before for this board; its output follows."
# Part of every build-cache key: entries stored before output was capped and stripped of control sequences
# must never be replayed.
OUTPUT_RULES_VERSION = 2
_SANDBOX_STATUS_TTL = 60.0
# Tasks (processes and threads) one parallel compile may need: compiler driver, cc1plus, as, and headroom for the
# toolchain's own threads (arduino-cli's Go runtime is capped to the same number through GOMAXPROCS).
_TASKS_PER_JOB = 16


def _no_output(line: str) -> None:
    """Default line sink."""


def _never_cancel() -> bool:
    """Default cancellation probe."""
    return False


class Compiler:
    """Compiles sketches for any board an installed toolchain supports; safe to share between threads."""

    def __init__(self, config: CompilerConfig) -> None:
        self.config = config
        for folder in (config.work_root, config.cache_root):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o711)
        self.sandbox = Sandbox(config.sandbox)
        self.build_cache = EntryStore(config.cache_root / "builds", config.build_cache_bytes)
        self.core_cache = CoreCache(config.cache_root / "cores", config.core_cache_bytes)
        self.work_folders = LeasedFolders(config.work_root, "build-")
        self.runs = 0
        self._lock = threading.Lock()
        self._detected: list[tuple[Driver, ToolchainInfo]] | None = None
        self._identities: dict[tuple[str, str], dict[str, str]] = {}
        self._sandbox_checked_at = float("-inf")
        self.sweep_orphans()

    # -- discovery -------------------------------------------------------------------------------------

    def toolchains(self) -> list[ToolchainInfo]:
        """Installed toolchains with their versions and boards (detected once, then remembered)."""
        return [info for _, info in self._toolchains()]

    def boards(self) -> list[Board]:
        """Every board any installed toolchain can build (first toolchain wins on duplicates)."""
        seen: dict[str, Board] = {}
        for info in self.toolchains():
            for board in info.boards:
                seen.setdefault(board.fqbn, board)
        return sorted(seen.values(), key=lambda board: board.fqbn)

    def sandbox_status(self) -> tuple[bool, str]:
        """(usable, human message with the fix when not) — for ``doctor`` and health pages."""
        usable, message = self.sandbox.status()
        blocked = self._untraversable_folder() if usable else None
        if blocked:
            return False, (
                f"the sandbox user cannot reach {blocked}: make it and its parents traversable "
                f"(chmod o+x), e.g. chmod 711 {blocked}"
            )
        return usable, message

    def validate(self, sketch_name: str, files: list[SketchFile]) -> None:
        """Raise SketchError with one message per violated sketch rule."""
        validate_sketch(sketch_name, files, self.config.limits)

    def board(self, fqbn: str) -> Board | None:
        """The installed board an FQBN names (menu options ignored), or None."""
        wanted = board_id(fqbn)
        return next((board for board in self.boards() if board_id(board.fqbn) == wanted), None)

    def driver_for(self, fqbn: str) -> Driver:
        """The toolchain that builds ``fqbn``; raises UnknownBoard naming the installed boards."""
        if not fqbn_parts(fqbn):
            raise UnknownBoard(f"Malformed FQBN {fqbn!r}: expected vendor:architecture:board[:options]")
        toolchains = self._toolchains()
        wanted = board_id(fqbn)
        for driver, info in toolchains:
            if any(board_id(board.fqbn) == wanted for board in info.boards):
                return driver
        installed = ", ".join(board.fqbn for _, info in toolchains for board in info.boards)
        raise UnknownBoard(f"No installed toolchain can build {fqbn!r}. Installed boards: {installed}")

    def sweep_orphans(self) -> list[Path]:
        """Remove work and staging folders that no live build owns (left by killed builds or dead workers).

        Runs when the compiler is created; call it again after a build was lost. Folders of builds still
        running, in this process or any other, are never touched: each is held by a lock its owner keeps.
        """
        removed = self.work_folders.sweep() + self.build_cache.sweep() + self.core_cache.store.sweep()
        if removed:
            logger.info("swept %s orphaned build folders", len(removed))
        return removed

    def check_free_space(self) -> None:
        """Raise LowDiskSpace unless a build can use its whole disk limit and still leave the reserve free."""
        needed = self.config.min_free_bytes + self.config.limits.max_disk_bytes
        free = min(shutil.disk_usage(folder).free for folder in (self.config.work_root, self.config.cache_root))
        if free < needed:
            raise LowDiskSpace(
                f"The server is low on disk space, so builds are paused until an administrator frees some: "
                f"{_megabytes(free)} free, {_megabytes(needed)} needed "
                f"({_megabytes(self.config.min_free_bytes)} reserve + {_megabytes(self.config.limits.max_disk_bytes)}"
                " per build)"
            )

    # -- building --------------------------------------------------------------------------------------

    def build(
        self,
        sketch_name: str,
        files: list[SketchFile],
        fqbn: str,
        on_line: Callable[[str], None] = _no_output,
        should_cancel: Callable[[], bool] = _never_cancel,
    ) -> BuildResult:
        """Compile a sketch for ``fqbn``; compile errors and killed runs come back as results, not exceptions.

        Raises (before anything runs): SketchError, UnknownBoard, ToolchainNotFound, SandboxUnavailable,
        LowDiskSpace (only when the toolchain would have to run: cached builds are still served).
        """
        started = time.monotonic()
        self.validate(sketch_name, files)
        driver = self.driver_for(fqbn)
        self._require_sandbox()
        plan = self._plan(driver, sketch_name, files, fqbn)
        with self.build_cache.key_lock(plan["key"]):
            if self.build_cache.exists(plan["key"]):
                result = self._cached_result(plan["key"], on_line)
            else:
                self.check_free_space()
                result = self._compile(driver, plan, files, on_line, should_cancel)
        result.duration_s = round(time.monotonic() - started, 3)
        result.cache_key, result.toolchain = plan["key"], driver.name
        board = self.board(fqbn)
        result.mcu = board.mcu if board else ""
        return result

    def _plan(self, driver: Driver, sketch_name: str, files: list[SketchFile], fqbn: str) -> dict[str, Any]:
        properties = dict(driver.server_properties(fqbn))
        libraries: list[Path] = []
        extra_files: list[SketchFile] = []
        parts = fqbn_parts(fqbn)
        if self.config.agent_library and parts and parts["arch"] == "esp32":
            libraries.append(self.config.agent_library)
            agent = self.config.agent_library
            properties[AGENT_LINK_PROPERTY] = (agent / AGENT_LINK_FLAGS_FILE).read_text().strip()
            # Arduino compiles only libraries a sketch file includes, so the agent comes with a one-line source.
            extra_files.append(SketchFile(AGENT_SOURCE.name, (agent / AGENT_SOURCE).read_text()))
        identity = self._identity(driver, fqbn)
        key_material = {
            "files": sorted((f.name, hashlib.sha256(f.content.encode()).hexdigest()) for f in files),
            "sketch": sketch_name,
            "fqbn": fqbn,
            "identity": identity,
            "properties": properties,
            "warnings": self.config.warnings,
            "agent_version": self.config.agent_version,
            "libraries": [_tree_digest(lib) for lib in libraries],
            "output_rules": OUTPUT_RULES_VERSION,
        }
        core_material = {"fqbn": fqbn, "identity": identity, "properties": properties, "warnings": self.config.warnings}
        return {
            "sketch_name": sketch_name,
            "fqbn": fqbn,
            "properties": properties,
            "libraries": libraries,
            "extra_files": extra_files,
            "key": _digest(key_material),
            "core_key": _digest(core_material),
        }

    def _compile(
        self,
        driver: Driver,
        plan: dict[str, Any],
        files: list[SketchFile],
        on_line: Callable[[str], None],
        should_cancel: Callable[[], bool],
    ) -> BuildResult:
        with self.work_folders.lease() as work:
            host = _prepare_tree(work, plan["sketch_name"], files + plan["extra_files"])
            with self.core_cache.lease(plan["core_key"]) as lease:
                job, spec, scrub = self._job(driver, plan, host, lease.folder, lease.writable)
                with self._lock:
                    self.runs += 1
                parser = DiagnosticParser()

                def parse_and_forward(line: str) -> None:
                    # Parsing as lines arrive keeps it inside the run's wall-time limit.
                    parser.feed(line)
                    on_line(line)

                outcome = self.sandbox.run(
                    driver.compile_argv(job), spec, self.config.limits, parse_and_forward, should_cancel, scrub
                )
                host_build = host["build"] / Path(driver.build_folder(job)).relative_to(job.build_dir)
                result = self._result(outcome, parser, host, host_build, plan["sketch_name"])
                if result.ok:
                    result.core_cache_hit = driver.harvest_core_cache(
                        host["build"], lease.folder if lease.writable else None
                    )
                    self.core_cache.publish(lease)
                    self._store(plan["key"], result)
            return result

    def _job(
        self, driver: Driver, plan: dict[str, Any], host: dict[str, Path], cache_dir: Path, cache_writable: bool
    ) -> tuple[CompileJob, SandboxSpec, PathScrubber]:
        name = plan["sketch_name"]
        sandboxed = self.config.sandbox
        visible = (
            {
                "sketch": f"{VISIBLE_ROOT}/sketch/{name}",
                "build": f"{VISIBLE_ROOT}/build",
                "out": f"{VISIBLE_ROOT}/out",
                "cache": f"{VISIBLE_ROOT}/cache",
            }
            if sandboxed
            else {**{k: str(v) for k, v in host.items()}, "cache": str(cache_dir)}
        )
        library_dirs = [f"{VISIBLE_ROOT}/libraries/{lib.name}" if sandboxed else str(lib) for lib in plan["libraries"]]
        job = CompileJob(
            sketch_name=name,
            sketch_dir=visible["sketch"],
            build_dir=visible["build"],
            output_dir=visible["out"],
            cache_dir=visible["cache"],
            fqbn=plan["fqbn"],
            warnings=self.config.warnings,
            libraries=library_dirs,
            build_properties=plan["properties"],
            sandboxed=sandboxed,
            jobs=compile_jobs(self.config.limits),
        )
        mounts = [
            Mount(host["sketch"], visible["sketch"]),
            Mount(host["build"], visible["build"], True),
            Mount(host["out"], visible["out"], True),
            Mount(cache_dir, visible["cache"], cache_writable),
            Mount(host["tmp"], SANDBOX_TMP, True),
            *(Mount(lib, path) for lib, path in zip(plan["libraries"], library_dirs)),
            *driver.sandbox_mounts(),
        ]
        spec = SandboxSpec(mounts=mounts if sandboxed else [], env=driver.sandbox_env(job), cwd=visible["build"])
        build_folder = driver.build_folder(job)
        scrub = PathScrubber(
            [
                (f"{build_folder}/sketch", ""),
                (visible["sketch"], ""),
                (build_folder, "<build>/"),
                (visible["build"], "<build>/"),
                (visible["out"], "<build>/"),
                (visible["cache"], "<core-cache>/"),
                (str(host["tmp"]), "/tmp/"),
                (str(self.config.work_root), "<work>/"),
                (str(self.config.cache_root), "<cache>/"),
                *driver.hidden_folders(),
            ]
        )
        return job, spec, scrub

    def _result(
        self, outcome: RunOutcome, parser: DiagnosticParser, host: dict[str, Path], host_build: Path, sketch_name: str
    ) -> BuildResult:
        diagnostics, sizes = parser.diagnostics, parser.sizes
        if outcome.cancelled:
            return BuildResult(status="cancelled", message="Cancelled", diagnostics=diagnostics, log=outcome.output)
        if outcome.limit:
            return BuildResult(
                status="limit_exceeded", message=outcome.message, diagnostics=diagnostics, log=outcome.output
            )
        artifacts = _collect_artifacts(host_build, host["out"], sketch_name) if outcome.exit_code == 0 else {}
        if "app_bin" not in artifacts:
            message = parser.summary() if diagnostics else f"Compilation failed (exit status {outcome.exit_code})"
            return BuildResult(
                status="compile_error", message=message, diagnostics=diagnostics, sizes=sizes, log=outcome.output
            )
        app = artifacts["app_bin"].read_bytes()
        return BuildResult(
            status="success",
            message=_success_message(sizes),
            diagnostics=diagnostics,
            sizes=sizes,
            artifacts=artifacts,
            md5=hashlib.md5(app).hexdigest(),
            sha256=hashlib.sha256(app).hexdigest(),
            size=len(app),
            log=outcome.output,
        )

    def _store(self, key: str, result: BuildResult) -> None:
        """Copy the artifacts into a build-cache entry and point the result at the stored copies."""
        stored_names = {role: path.name for role, path in result.artifacts.items()}
        meta = {
            "message": result.message,
            "diagnostics": [d.to_dict() for d in result.diagnostics],
            "sizes": result.sizes,
            "artifacts": stored_names,
            "md5": result.md5,
            "sha256": result.sha256,
            "size": result.size,
        }
        with self.build_cache.staging() as staged:
            for _role, path in result.artifacts.items():
                shutil.copy2(path, staged / path.name)
            (staged / "meta.json").write_text(json.dumps(meta))
            (staged / "log.txt").write_text(result.log)
            entry = self.build_cache.publish(key, staged)
        result.artifacts = {role: entry / name for role, name in stored_names.items()}

    def _cached_result(self, key: str, on_line: Callable[[str], None]) -> BuildResult:
        entry = self.build_cache.entry(key)
        self.build_cache.touch(key)
        meta = json.loads((entry / "meta.json").read_text())
        log = (entry / "log.txt").read_text()
        on_line(CACHE_NOTICE)
        for line in log.splitlines():
            on_line(line)
        return BuildResult(
            status="success",
            message=meta["message"],
            diagnostics=[Diagnostic.from_dict(d) for d in meta["diagnostics"]],
            sizes=meta["sizes"],
            artifacts={r: entry / n for r, n in meta["artifacts"].items()},
            md5=meta["md5"],
            sha256=meta["sha256"],
            size=meta["size"],
            cache_hit=True,
            log=f"{CACHE_NOTICE}\n{log}",
        )

    # -- helpers ---------------------------------------------------------------------------------------

    def _toolchains(self) -> list[tuple[Driver, ToolchainInfo]]:
        with self._lock:
            if self._detected is None:
                self._detected = self._detect()
            return self._detected

    def _detect(self) -> list[tuple[Driver, ToolchainInfo]]:
        wanted = self.config.toolchain
        if wanted not in ("auto", "arduino-cli", "arduino-builder"):
            raise CompilerError(f"Unknown toolchain setting {wanted!r} (auto, arduino-cli or arduino-builder)")
        candidates: list[Driver] = []
        if wanted in ("auto", "arduino-cli"):
            candidates.append(ArduinoCliDriver(self.config.arduino_cli))
        if wanted in ("auto", "arduino-builder"):
            candidates.append(ArduinoBuilderDriver(self.config.arduino_builder, self.config.arduino_hardware_dirs))
        detected, problems = [], []
        for driver in candidates:
            try:
                detected.append((driver, driver.detect()))
            except ToolchainNotFound as exc:
                problems.append(str(exc))
        if not detected:
            raise ToolchainNotFound("No usable toolchain: " + "; ".join(problems))
        return detected

    def _identity(self, driver: Driver, fqbn: str) -> dict[str, str]:
        key = (driver.name, board_id(fqbn))
        with self._lock:
            if key not in self._identities:
                self._identities[key] = driver.cache_identity(fqbn)
            return self._identities[key]

    def _require_sandbox(self) -> None:
        if not self.config.sandbox or time.monotonic() - self._sandbox_checked_at < _SANDBOX_STATUS_TTL:
            return
        usable, message = self.sandbox_status()
        if not usable:
            raise SandboxUnavailable(message)
        self._sandbox_checked_at = time.monotonic()

    def _untraversable_folder(self) -> Path | None:
        """bwrap runs as an unprivileged uid when we are root, so it must be able to walk to our folders."""
        if os.geteuid() != 0:
            return None
        for root in (self.config.work_root, self.config.cache_root):
            for folder in (root.resolve(), *root.resolve().parents):
                if not folder.stat().st_mode & 0o001:
                    return folder
        return None


def _prepare_tree(work: Path, sketch_name: str, files: list[SketchFile]) -> dict[str, Path]:
    """Lay out sketch/<name>/ (read-only to the toolchain), build/ and out/ inside a private work folder."""
    work.chmod(0o755)
    sketch = work / "sketch" / sketch_name
    sketch.mkdir(parents=True)
    for sketch_file in files:
        target = sketch / sketch_file.name
        target.write_text(sketch_file.content, encoding="utf-8")
        target.chmod(0o644)
    (work / "sketch").chmod(0o755)
    sketch.chmod(0o755)
    host = {"sketch": sketch, "build": work / "build", "out": work / "out", "tmp": work / "tmp"}
    for writable in ("build", "out", "tmp"):
        host[writable].mkdir()
    return host


def compile_jobs(limits: Limits) -> int:
    """Parallel compiles for one build: as many as the CPUs, but within the sandbox's process cap."""
    return max(1, min(os.cpu_count() or 1, limits.max_processes // _TASKS_PER_JOB))


def _collect_artifacts(build: Path, out: Path, sketch_name: str) -> dict[str, Path]:
    """Artifacts from the output folder, falling back to the build folder; AVR gets a .bin from its .hex."""
    artifacts = {**artifact_candidates(build, sketch_name), **artifact_candidates(out, sketch_name)}
    if "app_bin" not in artifacts and "hex" in artifacts:
        app_bin = out / f"{sketch_name}.ino.bin"
        hex_to_bin(artifacts["hex"], app_bin)
        artifacts["app_bin"] = app_bin
    return artifacts


def _megabytes(size: int) -> str:
    return f"{size / MIB:,.0f} MB"


def _success_message(sizes: dict[str, Any] | None) -> str:
    if not sizes:
        return "Done compiling"
    return f"Done compiling: {sizes['flash_bytes']} bytes of flash ({sizes['flash_percent']}%)"


def _digest(material: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _tree_digest(folder: Path) -> str:
    """Hash of every file name and content under ``folder`` (the injected library is part of the key)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
