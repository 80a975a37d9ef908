"""One build from start to finish: compile in the sandbox, record, publish the artifact, deploy for Upload."""

from __future__ import annotations

import logging


from compiler import BuildResult, CompilerError

from ..editor.sketches import revision, sketch_files, sketch_name
from ..extensions import current_settings
from ..models import Build
from ..ota.deployments import deploy_artifact
from ..ota.images import ImageRejected, check_app_image
from ..realtime.events import publish
from .artifacts import APP_IMAGE, publish_artifact
from .service import COMPLETE, ERROR, BuildMonitor, finish, record_result, result_event
from .toolchain import get_compiler

log = logging.getLogger(__name__)

STORED_ARTIFACTS = {"app_bin": APP_IMAGE, "elf": "firmware.elf", "hex": "firmware.hex",
                    "partitions_bin": "partitions.bin", "bootloader_bin": "bootloader.bin", "merged_bin": "merged.bin"}


def execute_build(build: Build) -> None:
    """Run an in-progress build to its end; every outcome is recorded, none escapes as an exception."""
    device = build.device
    monitor = BuildMonitor(build)
    try:
        files = sketch_files(revision(device, build.revision))
        result = get_compiler(current_settings()).build(sketch_name(device), files, build.fqbn,
                                                        on_line=monitor.on_line, should_cancel=monitor.should_cancel)
    except CompilerError as error:
        finish(build, ERROR, str(error), error=str(error))
    except Exception:
        log.exception("Build %s failed unexpectedly", build.id)
        finish(build, ERROR, "Internal error while compiling", error="internal error")
    else:
        record_result(build, result)
        conclude(build, result)
    publish(device.product_id, "result", **result_event(build))


def conclude(build: Build, result: BuildResult) -> None:
    if result.status != "success":
        finish(build, ERROR, result.message, error=result.status)
        return
    files = {STORED_ARTIFACTS[kind]: path for kind, path in result.artifacts.items() if kind in STORED_ARTIFACTS}
    try:
        check_app_image(build.fqbn, files[APP_IMAGE], result.mcu)
    except ImageRejected as error:
        finish(build, ERROR, f"The compiler produced an invalid firmware image: {error}", error="invalid image")
        return
    build.artifact = publish_artifact(current_settings().artifacts_dir, build.fqbn, files)
    if build.deploy:
        deploy_artifact(build.device, build.artifact, build.id)
    size_line = summary(result)
    finish(build, COMPLETE, size_line or "Done")


def summary(result: BuildResult) -> str:
    sizes = result.sizes or {}
    if "flash_bytes" not in sizes:
        return "Done compiling" + (" (from cache)" if result.cache_hit else "")
    return (f"Sketch uses {sizes['flash_bytes']} bytes ({sizes.get('flash_percent', '?')}%) of program storage space"
            + (" (from cache)" if result.cache_hit else ""))
