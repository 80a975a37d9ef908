"""Sandboxed, cached Arduino compiles: a plain library used by the web service's workers and by scripts."""

from compiler.errors import (
    CompilerError,
    LowDiskSpace,
    SandboxUnavailable,
    SketchError,
    ToolchainNotFound,
    UnknownBoard,
)
from compiler.models import (
    Board,
    BuildResult,
    CompilerConfig,
    Diagnostic,
    Limits,
    SketchFile,
    ToolchainInfo,
)
from compiler.service import Compiler
from compiler.text import strip_control_sequences

__all__ = [
    "Board",
    "BuildResult",
    "Compiler",
    "CompilerConfig",
    "CompilerError",
    "Diagnostic",
    "Limits",
    "LowDiskSpace",
    "SandboxUnavailable",
    "SketchError",
    "SketchFile",
    "ToolchainInfo",
    "ToolchainNotFound",
    "UnknownBoard",
    "strip_control_sequences",
]
