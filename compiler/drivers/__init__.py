"""Toolchain drivers: one small argv builder per toolchain action."""

from compiler.drivers.arduino_builder import ArduinoBuilderDriver
from compiler.drivers.arduino_cli import ArduinoCliDriver
from compiler.drivers.base import CompileJob, Driver

__all__ = ["ArduinoBuilderDriver", "ArduinoCliDriver", "CompileJob", "Driver"]
