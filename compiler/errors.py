"""Exceptions raised before a toolchain runs; everything during a compile is a BuildResult instead."""


class CompilerError(Exception):
    """Base class of every error the compiler library raises."""


class SketchError(CompilerError):
    """The sketch breaks the sketch-folder rules; ``problems`` holds one clear message per violation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class ToolchainNotFound(CompilerError):
    """No usable toolchain (arduino-cli or arduino-builder) is installed or configured."""


class UnknownBoard(CompilerError):
    """The requested FQBN is malformed or no installed toolchain can build it."""


class SandboxUnavailable(CompilerError):
    """Bubblewrap is missing or unusable while sandboxing is required."""


class LowDiskSpace(CompilerError):
    """Too little free disk space to start a build without eating into the service's reserve."""
