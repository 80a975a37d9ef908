"""Make untrusted output safe to show, store and parse: terminal commands removed, every line bounded.

Compiler output is partly written by the sketch (``#error`` text, ``#warning`` text, ``#line`` file names), and
device output entirely by the device, so neither may reach a terminal emulator (xterm.js) as commands: a sketch
could clear the screen, move the cursor to print a fake "Upload complete!", set the window title or plant OSC 8
links. :func:`strip_control_sequences` removes every control sequence and control character (tab and newline
stay), so what is left is plain text; the server adds its own colours afterwards.

Both functions run in time linear in their input: each pattern starts with a fixed control character and its
repeated parts are disjoint character classes, so the regular expression engine never backtracks.
"""

from __future__ import annotations

import codecs
import re

# Longest line kept, in UTF-8 bytes; longer lines keep their start and say how much was cut.
MAX_LINE_BYTES = 4096

_CONTROL_SEQUENCE = re.compile(
    # CSI (ESC [ or 8-bit 0x9B): parameters, intermediates, final byte — colours, cursor moves, screen clears.
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    # OSC, DCS, SOS, PM, APC (7- or 8-bit): a string up to BEL or ST — titles, OSC 8 links, device controls.
    # An unterminated string ends at the end of the line, as it would swallow the rest of it in a terminal.
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    # Any other escape sequence: ESC, intermediates, final byte (ESC c reset, ESC 7/8, ESC # 8, charsets …).
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
    # Every remaining C0 control but tab and newline, DEL, and every C1 control.
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def strip_control_sequences(text: str) -> str:
    """Return ``text`` without terminal control sequences or control characters (tab and newline are kept).

    Covers CSI, OSC (including OSC 8 hyperlinks), DCS/SOS/PM/APC strings, other ESC sequences, in both their
    7-bit and 8-bit (C1) forms, and every other C0/C1 control character, carriage return included (it would let
    a line overwrite itself).
    """
    return _CONTROL_SEQUENCE.sub("", text)


def one_line(text: str, limit: int) -> str:
    """``text`` as one line of plain text of at most ``limit`` characters: control sequences removed, every run of
    whitespace (newlines and tabs included) folded to one space, a cut marked with an ellipsis."""
    folded = " ".join(strip_control_sequences(text).split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def cap_line(raw: bytes, dropped: int = 0, limit: int = MAX_LINE_BYTES) -> str:
    """Decode one raw output line, keeping at most ``limit`` bytes and marking a cut.

    ``dropped`` counts bytes of the same line already discarded by the caller (a streaming reader keeps only the
    first ``limit`` bytes of a line while waiting for its end). A cut never splits a UTF-8 character.
    """
    if len(raw) > limit:
        dropped += len(raw) - limit
        raw = raw[:limit]
    if not dropped:
        return raw.decode("utf-8", "replace")
    # Not final: the incremental decoder holds back a character the cut left incomplete.
    kept = codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=False)
    return f"{kept} [… line cut: {dropped} more bytes]"


def safe_line(raw: bytes, dropped: int = 0, limit: int = MAX_LINE_BYTES) -> str:
    """One untrusted output line as plain, bounded text: capped (:func:`cap_line`), then stripped."""
    return strip_control_sequences(cap_line(raw, dropped, limit))
