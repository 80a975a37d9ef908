"""Sketch-folder rules: each bad input gets exactly one clear message."""

from __future__ import annotations

import pytest

from compiler import Limits, SketchError, SketchFile
from compiler.validation import sketch_problems, validate_sketch

GOOD_MAIN = SketchFile("Blink.ino", "void setup(){}\nvoid loop(){}\n")
LIMITS = Limits(max_files=4, max_sketch_bytes=2000)


@pytest.mark.parametrize(
    ("sketch_name", "extra_files", "expected"),
    [
        ("-Blink", [], "Sketch name '-Blink' is invalid"),
        ("_Blink", [], "Sketch name '_Blink' is invalid"),
        ("B" * 64, [], "is invalid"),
        ("Blink", [SketchFile("build_opt.h", "-fplugin=/tmp/x.so")], "'build_opt.h' is not allowed"),
        ("Blink", [SketchFile("partitions.csv", "nvs, data, nvs")], "'partitions.csv' is not allowed"),
        ("Blink", [SketchFile("bootloader.bin", "x")], "'bootloader.bin' is not allowed"),
        ("Blink", [SketchFile("blob.bin", "x")], "'blob.bin' is not allowed"),
        ("Blink", [SketchFile("platform.local.txt", "x")], "'platform.local.txt' is not allowed"),
        ("Blink", [SketchFile("../evil.h", "x")], "must not contain a path separator"),
        ("Blink", [SketchFile("sub\\evil.h", "x")], "must not contain a path separator"),
        ("Blink", [SketchFile(".hidden.h", "x")], "must not start with a dot"),
        ("Blink", [SketchFile("na me.h", "x")], "may only use A-Z a-z 0-9 _ . -"),
        ("Blink", [SketchFile("notes.txt", "x")], "unsupported extension"),
        ("Blink", [SketchFile("Tab.h", "a\x00b")], "contains a NUL character"),
        ("Blink", [SketchFile("blink.ino", "x")], "Duplicate file name 'blink.ino'"),
        ("Blink", [SketchFile(f"t{i}.h", "") for i in range(4)], "Too many files: 5 (at most 4)"),
        ("Blink", [SketchFile("big.h", "x" * 2000)], "Sketch too large"),
    ],
)
def test_each_violation_gets_one_clear_message(sketch_name: str, extra_files: list[SketchFile], expected: str) -> None:
    main = SketchFile(f"{sketch_name}.ino", GOOD_MAIN.content)
    problems = sketch_problems(sketch_name, [main, *extra_files], LIMITS)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_main_file_must_be_named_after_the_sketch() -> None:
    problems = sketch_problems("Blink", [SketchFile("Other.ino", "")], LIMITS)
    assert problems == ["Missing main file 'Blink.ino': the main .ino must be named after the sketch"]


def test_valid_sketch_with_all_allowed_extensions_passes() -> None:
    tabs = [SketchFile(name, "// ok\n") for name in ("a.h", "b.hpp", "c.c", "d.cpp", "e.S")]
    validate_sketch("Blink", [GOOD_MAIN, *tabs], Limits())


def test_sketch_error_lists_every_problem() -> None:
    with pytest.raises(SketchError) as caught:
        validate_sketch("Blink", [SketchFile("build_opt.h", ""), SketchFile(".x.h", "")], LIMITS)
    assert len(caught.value.problems) == 3
    assert any("Missing main file" in p for p in caught.value.problems)
