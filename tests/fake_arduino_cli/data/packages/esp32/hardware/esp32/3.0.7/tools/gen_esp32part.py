#!/usr/bin/env python3
"""STAND-IN gen_esp32part.py (tests only): partitions CSV -> binary partition table (32-byte entries,
MD5 entry, 0xFF padding to 0xC00 bytes), as ESP-IDF's tool writes it. Usage: gen_esp32part.py -q IN OUT."""

import hashlib
import struct
import sys

TYPES = {"app": 0x00, "data": 0x01}
SUBTYPES = {
    "factory": 0x00,
    "ota_0": 0x10,
    "ota_1": 0x11,
    "ota": 0x00,
    "phy": 0x01,
    "nvs": 0x02,
    "coredump": 0x03,
    "spiffs": 0x82,
    "fat": 0x81,
}


def main(argv):
    source, target = [arg for arg in argv if arg != "-q"]
    table = b""
    for line in open(source).read().splitlines():
        fields = [field.strip() for field in line.split("#")[0].split(",")]
        if len(fields) < 5 or not fields[0]:
            continue
        name, kind, subtype, offset, size = fields[:5]
        table += struct.pack(
            "<2sBBII16sI", b"\xaa\x50", TYPES[kind], SUBTYPES[subtype], int(offset, 0), int(size, 0), name.encode(), 0
        )
    table += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(table).digest()
    open(target, "wb").write(table + b"\xff" * (0xC00 - len(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
