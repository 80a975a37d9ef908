"""Real compiles with Debian's arduino-builder + gcc-avr inside the real bubblewrap sandbox."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler import Compiler, Limits, SketchError, SketchFile, UnknownBoard
from compiler.diagnostics import DiagnosticParser
from compiler.drivers.arduino_builder import ArduinoBuilderDriver
from tests.compiler.conftest import BLINK, sketch

UNO = "arduino:avr:uno"


def work_folders(compiler: Compiler) -> list[str]:
    """Build folders left in the work root (the lease bookkeeping folder aside)."""
    return [name for name in os.listdir(compiler.config.work_root) if name != ".leases"]


def build(compiler: Compiler, name_files: tuple[str, list[SketchFile]], **kwargs):
    lines: list[str] = []
    result = compiler.build(*name_files, UNO, on_line=lines.append, **kwargs)
    return result, lines


def test_success_reports_sizes_artifacts_and_streams_output(avr: Compiler) -> None:
    result, lines = build(avr, sketch())
    assert result.status == "success", result.log
    assert result.sizes["flash_max"] == 32256 and result.sizes["ram_max"] == 2048
    assert 0 < result.sizes["flash_bytes"] < 4000 and result.sizes["ram_bytes"] > 0
    app = result.artifacts["app_bin"].read_bytes()
    assert len(app) == result.size == result.sizes["flash_bytes"]
    assert result.md5 == hashlib.md5(app).hexdigest() and result.sha256 == hashlib.sha256(app).hexdigest()
    assert result.artifacts["elf"].read_bytes()[:4] == b"\x7fELF"
    assert result.artifacts["hex"].read_text().startswith(":")
    assert any(line.startswith("Sketch uses") for line in lines)
    assert result.log == "\n".join(lines)
    assert not result.cache_hit and result.toolchain == "arduino-builder"
    assert not work_folders(avr), "build trees are removed afterwards"


def test_syntax_error_in_ino_points_at_file_line_column(avr: Compiler) -> None:
    main = "void setup() {\n}\n\nvoid loop() {\n  int a = 1\n  a++;\n}\n"
    result, _lines = build(avr, sketch(main=main))
    assert result.status == "compile_error"
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.file, d.line, d.column) for d in errors] == [("Blink.ino", 6, 3)]
    assert "expected" in errors[0].message
    assert errors[0].context and "loop" in errors[0].context[0]
    assert result.message == "Compilation failed: 1 error"


def test_error_in_cpp_tab_is_reported_against_the_tab(avr: Compiler) -> None:
    tab = '#include "Helper.h"\n\nint helper() {\n  return undefined_name;\n}\n'
    result, _ = build(avr, sketch(main='#include "Helper.h"\n' + BLINK, Helper__h="int helper();\n", Helper__cpp=tab))
    assert result.status == "compile_error"
    assert [(d.file, d.line, d.column) for d in result.diagnostics if d.severity == "error"] == [("Helper.cpp", 4, 10)]


def test_link_error_is_a_diagnostic(avr: Compiler) -> None:
    main = "void missing_function();\nvoid setup() {}\nvoid loop() { missing_function(); }\n"
    result, _ = build(avr, sketch(main=main))
    assert result.status == "compile_error"
    linker = [d for d in result.diagnostics if "undefined reference" in d.message]
    assert len(linker) == 1 and "missing_function" in linker[0].message
    assert linker[0].file == "Blink.ino"


def test_multi_file_sketch_links(avr: Compiler) -> None:
    main = '#include "Led.h"\nvoid setup() { led_init(); }\nvoid loop() { led_toggle(); extra(); }\n'
    files = sketch(
        main=main,
        Led__h="void led_init();\nvoid led_toggle();\n",
        Led__cpp='#include <Arduino.h>\n#include "Led.h"\nvoid led_init() { pinMode(13, OUTPUT); }\n'
        "void led_toggle() { digitalWrite(13, !digitalRead(13)); }\n",
        Extra__ino="void extra() { delay(1); }\n",
    )
    result, _ = build(avr, files)
    assert result.status == "success", result.log
    assert result.sizes["flash_bytes"] > 0


def test_reading_server_files_fails_without_leaking(make_compiler: Callable[..., Compiler], shared_tmp: Path) -> None:
    data_dir = shared_tmp / "server-data"
    data_dir.mkdir()
    secret = data_dir / "secret.h"
    secret.write_text('const char *key = "SECRET-7f3a";\n')
    secret.chmod(0o644)
    compiler = make_compiler(work_root=data_dir / "work", cache_root=data_dir / "cache")
    os.environ["WEBIDE_TEST_SECRET"] = "ENV-SECRET-91c2"
    try:
        outputs = {
            include: build(compiler, sketch(main=f'#include "{include}"\n' + BLINK))
            for include in (str(secret), "/etc/shadow", "/proc/self/environ", "../../../server-data/secret.h")
        }
    finally:
        del os.environ["WEBIDE_TEST_SECRET"]
    for include, (result, lines) in outputs.items():
        text = result.log + "\n".join(lines) + repr([d.to_dict() for d in result.diagnostics])
        assert "SECRET-7f3a" not in text and "ENV-SECRET-91c2" not in text, include
        assert str(data_dir / "work") not in text and str(data_dir / "cache") not in text
        if include != "/proc/self/environ":
            assert result.status == "compile_error", include
            assert "No such file or directory" in text


def test_output_flood_from_the_compiler_is_cut(make_compiler: Callable[..., Compiler]) -> None:
    compiler = make_compiler(limits=Limits(max_output_bytes=32 * 1024))
    warnings = "".join(f'#warning "flood {i} {"x" * 80}"\n' for i in range(2000))
    result, lines = build(compiler, sketch(main=warnings + BLINK))
    assert result.status == "limit_exceeded"
    assert result.message == "Killed: output limit 32 KiB exceeded"
    assert lines[-1] == result.message


def test_wall_time_limit_on_a_real_build(make_compiler: Callable[..., Compiler]) -> None:
    compiler = make_compiler(limits=Limits(wall_seconds=0.05))
    result, _ = build(compiler, sketch())
    assert result.status == "limit_exceeded"
    assert result.message == "Killed: wall time limit 0.05 s"
    assert not work_folders(compiler)


def test_cancellation_kills_the_toolchain(avr: Compiler) -> None:
    result, _lines = build(avr, sketch(), should_cancel=lambda: True)
    assert result.status == "cancelled" and result.message == "Cancelled"
    assert not result.artifacts
    assert avr.build_cache.total_bytes() == 0, "a cancelled build is never cached"


def test_identical_request_is_served_from_cache_without_running(avr: Compiler) -> None:
    first, _ = build(avr, sketch())
    runs_after_first = avr.runs
    second, lines = build(avr, sketch())
    assert second.cache_hit and second.status == "success"
    assert avr.runs == runs_after_first == 1
    assert second.cache_key == first.cache_key
    assert second.sha256 == first.sha256 and second.sizes == first.sizes
    assert lines[0].startswith("Using a cached build")
    assert any(line.startswith("Sketch uses") for line in lines)
    changed, _ = build(avr, sketch(main=BLINK + "\n// edited\n"))
    assert not changed.cache_hit and changed.cache_key != first.cache_key


def test_second_sketch_reuses_the_compiled_core(avr: Compiler) -> None:
    first, first_lines = build(avr, sketch())
    second, second_lines = build(avr, sketch(main=BLINK.replace("500", "250")))
    assert first.status == second.status == "success"
    assert any("Archiving built core" in line for line in first_lines)
    assert not any("Archiving built core" in line for line in second_lines)
    assert any("precompiled core" in line.lower() or "core" not in line for line in second_lines)
    assert len(list(avr.core_cache.store.root.glob("*/core/core_*.a"))) == 1


def test_core_cache_size_zero_compiles_the_core_every_time(make_compiler: Callable[..., Compiler]) -> None:
    uncached = make_compiler(core_cache_bytes=0)
    first, first_lines = build(uncached, sketch())
    second, second_lines = build(uncached, sketch(main=BLINK.replace("500", "250")))
    assert first.status == second.status == "success"
    assert all(any("Archiving built core" in line for line in lines) for lines in (first_lines, second_lines))
    assert list(uncached.core_cache.store.root.glob("*/core/core_*.a")) == []


def test_concurrent_identical_builds_share_one_entry(avr: Compiler) -> None:
    results = []
    threads = [threading.Thread(target=lambda: results.append(build(avr, sketch())[0])) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in results] == ["success"] * 3
    assert sorted(r.cache_hit for r in results) == [False, True, True]
    assert len({r.sha256 for r in results}) == 1
    assert avr.runs == 1
    assert len([p for p in avr.build_cache.root.iterdir() if not p.name.startswith(".")]) == 1


def last_used(compiler: Compiler, key: str, seconds_ago: float) -> None:
    """Date an entry's last use back, so LRU order is set explicitly instead of by sleeping between builds."""
    mark = compiler.build_cache.entry(key) / ".used"
    moment = time.time() - seconds_ago
    os.utime(mark, (moment, moment))


def test_lru_eviction_keeps_the_cache_under_its_bound(make_compiler: Callable[..., Compiler]) -> None:
    compiler = make_compiler()
    first, _ = build(compiler, sketch())
    entry_bytes = compiler.build_cache.total_bytes()
    bounded = make_compiler(build_cache_bytes=int(entry_bytes * 2.5))
    keys = [first.cache_key]
    for age, delay in ((2, "100"), (1, "200")):
        last_used(bounded, keys[-1], seconds_ago=age + 1)
        keys.append(build(bounded, sketch(main=BLINK.replace("500", delay)))[0].cache_key)
    assert not bounded.build_cache.exists(keys[0]), "least recently used entry is evicted"
    assert bounded.build_cache.exists(keys[1]) and bounded.build_cache.exists(keys[2])
    assert bounded.build_cache.total_bytes() <= bounded.build_cache.max_bytes


def test_cache_hit_refreshes_lru_order(make_compiler: Callable[..., Compiler]) -> None:
    compiler = make_compiler()
    old, _ = build(compiler, sketch())
    entry_bytes = compiler.build_cache.total_bytes()
    bounded = make_compiler(build_cache_bytes=int(entry_bytes * 2.5))
    last_used(bounded, old.cache_key, seconds_ago=30)
    middle, _ = build(bounded, sketch(main=BLINK.replace("500", "100")))
    last_used(bounded, middle.cache_key, seconds_ago=20)
    assert build(bounded, sketch())[0].cache_hit  # the hit makes the oldest entry the newest
    build(bounded, sketch(main=BLINK.replace("500", "200")))
    assert bounded.build_cache.exists(old.cache_key)
    assert not bounded.build_cache.exists(middle.cache_key)


def test_bad_inputs_raise_before_running(avr: Compiler) -> None:
    with pytest.raises(SketchError):
        avr.build("Blink", [SketchFile("Blink.ino", BLINK), SketchFile("build_opt.h", "-fplugin=x")], UNO)
    with pytest.raises(UnknownBoard) as caught:
        avr.build(*sketch(), "esp32:esp32:esp32")
    assert "arduino:avr:uno" in str(caught.value)
    with pytest.raises(UnknownBoard):
        avr.build(*sketch(), "not a board")
    assert avr.runs == 0


def test_toolchains_and_boards_come_from_the_installed_platform(avr: Compiler) -> None:
    (info,) = avr.toolchains()
    assert info.name == "arduino-builder" and info.version[0].isdigit()
    fqbns = {board.fqbn: board.name for board in avr.boards()}
    assert fqbns["arduino:avr:uno"].casefold() == "arduino uno"
    assert "arduino:avr:mega:cpu=atmega2560" in fqbns  # with the option that picks its chip
    usable, message = avr.sandbox_status()
    assert usable, message


def test_parsing_output_counts_against_the_wall_time_limit(
    make_compiler: Callable[..., Compiler], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build(make_compiler(), sketch())[0].status == "success"  # warm the core cache: the next build is quick
    parse = DiagnosticParser.feed

    def pathological_parse(self: DiagnosticParser, line: str) -> None:
        # Stands in for a parser that takes too long on one line; it must not outlive the build's limits.
        if "SLOW-TO-PARSE" in line:
            time.sleep(12)
        parse(self, line)

    monkeypatch.setattr(DiagnosticParser, "feed", pathological_parse)
    compiler = make_compiler(limits=Limits(wall_seconds=10))
    result, lines = build(compiler, sketch(main='#warning "SLOW-TO-PARSE"\n' + BLINK))
    assert result.status == "limit_exceeded" and result.message == "Killed: wall time limit 10 s"
    assert lines[-1] == result.message


def every_avr_board() -> list[str]:
    return [board.fqbn for board in ArduinoBuilderDriver().detect().boards]


@pytest.mark.parametrize("fqbn", every_avr_board())
def test_blink_builds_for_every_listed_board(avr: Compiler, fqbn: str) -> None:
    """The board menu lists only boards that really build (with the menu option that picks their chip)."""
    result = avr.build(*sketch(), fqbn, on_line=lambda _line: None)
    assert result.status == "success", result.log[-2000:]
    assert result.artifacts.get("hex") and result.artifacts["hex"].stat().st_size > 0
