"""Intel HEX to raw binary, so AVR builds also offer an ``app_bin`` (the flash image from address 0)."""

from __future__ import annotations

from pathlib import Path

_DATA, _EOF, _EXTENDED_SEGMENT, _EXTENDED_LINEAR = 0, 1, 2, 4
_ERASED = 0xFF


def hex_to_bin(hex_path: Path, bin_path: Path) -> None:
    """Write the memory image described by ``hex_path``; gaps are filled with erased-flash 0xFF bytes."""
    memory: dict[int, int] = {}
    base = 0
    for number, raw in enumerate(hex_path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        record = _decode_record(line, number)
        kind, address, data = record[3], (record[1] << 8) | record[2], record[4:-1]
        if kind == _DATA:
            for offset, value in enumerate(data):
                memory[base + address + offset] = value
        elif kind == _EXTENDED_SEGMENT:
            base = ((data[0] << 8) | data[1]) << 4
        elif kind == _EXTENDED_LINEAR:
            base = ((data[0] << 8) | data[1]) << 16
        elif kind == _EOF:
            break
    image = bytearray([_ERASED]) * (max(memory) + 1 if memory else 0)
    for address, value in memory.items():
        image[address] = value
    bin_path.write_bytes(bytes(image))


def _decode_record(line: str, number: int) -> bytes:
    if not line.startswith(":"):
        raise ValueError(f"line {number}: not an Intel HEX record")
    record = bytes.fromhex(line[1:])
    if len(record) < 5 or len(record) != record[0] + 5:
        raise ValueError(f"line {number}: bad record length")
    if sum(record) & 0xFF:
        raise ValueError(f"line {number}: bad checksum")
    return record
