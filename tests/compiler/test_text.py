"""Untrusted output made safe: terminal control sequences removed, lines capped with a visible marker."""

from __future__ import annotations

import pytest

from compiler.text import MAX_LINE_BYTES, cap_line, one_line, safe_line, strip_control_sequences

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"{ESC}[2J{ESC}[H{ESC}[32mUpload complete!{ESC}[0m", "Upload complete!"),  # clear, home, colour
        (f"a{ESC}[1;31;4mb{ESC}[?25lc{ESC}[3 qd", "abcd"),  # parameters, private mode, intermediate byte
        (f"{ESC}]0;owned title{BEL}text", "text"),  # OSC ended by BEL
        (f"{ESC}]8;;http://evil.example/{ST}click{ESC}]8;;{ST}", "click"),  # OSC 8 hyperlink ended by ST
        (f"{ESC}P+q544e{ST}after", "after"),  # DCS
        (f"{ESC}_apc{ST}{ESC}^pm{ST}{ESC}Xsos{ST}x", "x"),  # APC, PM, SOS
        ("\x9b2J\x9d0;t\x9c\x90q\x9cz", "z"),  # 8-bit CSI, OSC, DCS with 8-bit ST
        (f"{ESC}c{ESC}7{ESC}8{ESC}#8{ESC}(0{ESC}=y", "y"),  # reset, save/restore, fill screen, charsets, keypad
        ("fake\rreal", "fakereal"),  # carriage return would let a line overwrite itself
        ("a\x00b\x07c\x08d\x7fe\x85f", "abcdef"),  # NUL, BEL, backspace, DEL, C1 NEL
        (f"{ESC}]8;;http://never-terminated", ""),  # an unterminated string swallows the rest of the line
        (f"trailing {ESC}", "trailing "),
        ("tab\tstays, 'quotes’ and ünïcode ✓ stay", "tab\tstays, 'quotes’ and ünïcode ✓ stay"),
    ],
)
def test_control_sequences_are_removed_and_text_kept(raw: str, shown: str) -> None:
    assert strip_control_sequences(raw) == shown


def test_newlines_are_kept_and_an_unterminated_string_ends_at_its_line() -> None:
    text = f"one {ESC}]8;;http://evil\ntwo {ESC}[31mred\n"
    assert strip_control_sequences(text) == "one \ntwo red\n"


def test_short_lines_are_decoded_unchanged() -> None:
    assert cap_line("Blink.ino:3:1: error: ‘x’".encode()) == "Blink.ino:3:1: error: ‘x’"


def test_long_line_is_cut_with_a_marker_counting_what_was_dropped() -> None:
    line = cap_line(b"x" * (MAX_LINE_BYTES + 1000))
    assert line == "x" * MAX_LINE_BYTES + " [… line cut: 1000 more bytes]"


def test_cut_counts_bytes_the_reader_already_dropped_and_never_splits_a_character() -> None:
    raw = "ü".encode() * 3  # six bytes: a cut after five leaves half a character
    assert cap_line(raw, dropped=10, limit=5) == "üü [… line cut: 11 more bytes]"


def test_safe_line_caps_before_stripping() -> None:
    raw = b"\x1b[31m" + b"y" * MAX_LINE_BYTES
    line = safe_line(raw)
    assert line.startswith("y") and "\x1b" not in line
    assert line.endswith(" [… line cut: 5 more bytes]")


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("spring-1.2", "spring-1.2"),
        ("spring\x1b[2J\x1b]0;title\x07 <b>1.2</b>\r\n\tfinal", "spring <b>1.2</b> final"),
        ("  \n\t ", ""),
        ("x" * 20, "x" * 9 + "…"),
    ],
)
def test_one_line_is_plain_single_and_bounded(raw: str, shown: str) -> None:
    assert one_line(raw, 10 if len(raw) == 20 else 100) == shown
